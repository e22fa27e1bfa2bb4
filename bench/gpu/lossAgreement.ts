/**
 * Pure part of the probe's correctness check: do two loss curves (e.g. WebGPU vs CPU, same init
 * and data) agree within a float32 tolerance, and are two runs bit-identical?
 */

/**
 * |a − b| ≤ atol + rtol·|b| per step. Why this size: float32 has ε ≈ 1.2e-7, and a different
 * provider sums in a different order and fuses other kernels, so each loss differs by ~1e-6
 * relative at step 1; AdamW normalises updates, so those differences move the parameters by up
 * to lr per step and compound over 20 steps. 1e-3 relative bounds that for a correct kernel set
 * while a wrong kernel (a mis-indexed transpose, a dropped term) moves the loss by percents.
 */
export const LOSS_TOLERANCE = { rtol: 1e-3, atol: 1e-5 } as const;

export interface Tolerance {
  readonly rtol: number;
  readonly atol: number;
}

export interface LossAgreement {
  readonly steps: number;
  readonly maxAbs: number;
  /** max |a − b| / |b| over steps where b ≠ 0. */
  readonly maxRel: number;
  readonly pass: boolean;
  /** First step (0-based) outside the tolerance, or null. */
  readonly firstFailStep: number | null;
  readonly tolerance: Tolerance;
  /** Why it failed when it is not a numeric disagreement (length mismatch, non-finite loss). */
  readonly note?: string;
}

/** Compares `a` (the provider under test) to `b` (the reference, cpu). */
export function compareLosses(a: readonly number[], b: readonly number[], tol: Tolerance = LOSS_TOLERANCE): LossAgreement {
  if (!(tol.rtol >= 0 && tol.atol >= 0)) throw new RangeError('lossAgreement: rtol and atol must be ≥ 0');
  const steps = Math.min(a.length, b.length);
  let maxAbs = 0;
  let maxRel = 0;
  let firstFailStep: number | null = null;
  let note: string | undefined;
  if (a.length !== b.length) note = `different lengths: ${a.length} vs ${b.length}`;
  if (steps === 0) note ??= 'no losses';
  for (let i = 0; i < steps; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      note ??= `non-finite loss at step ${i}`;
      firstFailStep ??= i;
      continue;
    }
    const d = Math.abs(x - y);
    maxAbs = Math.max(maxAbs, d);
    if (y !== 0) maxRel = Math.max(maxRel, d / Math.abs(y));
    if (d > tol.atol + tol.rtol * Math.abs(y)) firstFailStep ??= i;
  }
  const pass = note === undefined && firstFailStep === null;
  return { steps, maxAbs, maxRel, pass, firstFailStep, tolerance: { rtol: tol.rtol, atol: tol.atol }, ...(note !== undefined ? { note } : {}) };
}

/** True when both runs gave the same losses bit for bit (same length, Object.is per step). */
export function identicalLosses(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
}

/** One training run's losses, tagged with where it ran. */
export interface LossRun {
  readonly requested: string;
  readonly provider: string;
  readonly threads: number;
  readonly losses: readonly number[];
}

export interface LossCase {
  readonly case: string;
  /** Steps compared: the first `steps` losses of both runs. */
  readonly steps: number;
  readonly test: LossRun & { readonly fellBack: boolean };
  readonly reference: LossRun;
  readonly agreement: LossAgreement;
  /** Repeat run on the same provider gave identical losses (null: not repeated). Reported, not asserted. */
  readonly deterministic: { readonly test: boolean | null; readonly reference: boolean | null };
}

/** The correctness record of one case: the first `steps` losses of `test` against `reference`. */
export function lossCase(name: string, steps: number, test: LossRun, reference: LossRun, repeats: { test?: LossRun; reference?: LossRun } = {}, tol: Tolerance = LOSS_TOLERANCE): LossCase {
  const cut = (r: LossRun) => ({ requested: r.requested, provider: r.provider, threads: r.threads, losses: r.losses.slice(0, steps) });
  const t = cut(test);
  const r = cut(reference);
  const same = (a: LossRun, b: LossRun | undefined) => (b === undefined ? null : identicalLosses(a.losses.slice(0, steps), b.losses.slice(0, steps)));
  const agreement = compareLosses(t.losses, r.losses, tol);
  // Fewer than the asked-for steps (a run hit its time cap) is not a pass.
  const short = t.losses.length < steps || r.losses.length < steps;
  return {
    case: name,
    steps,
    test: { ...t, fellBack: test.requested !== test.provider },
    reference: r,
    agreement: short ? { ...agreement, pass: false, note: agreement.note ?? `only ${Math.min(t.losses.length, r.losses.length)} of ${steps} steps ran` } : agreement,
    deterministic: { test: same(test, repeats.test), reference: same(reference, repeats.reference) },
  };
}
