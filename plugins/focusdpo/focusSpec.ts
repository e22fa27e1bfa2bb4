/**
 * The focus map's settings (focusdpo/FocusMap's output, read by focusdpo/DPOLoss). Every term
 * can be switched off; with all three off the map is uniform and the loss is plain Diffusion-DPO.
 */
export interface FocusSpec {
  /** M_prior: where winner and loser differ (the DIP mask per patch). Off: 1 everywhere. */
  readonly prior: boolean;
  /** M_corr,t: the frozen reference model's reference→target attention at t, top-k per reference patch. Off: 1 everywhere. */
  readonly correspondence: boolean;
  /** M_complexity: Gaussian-entropy map of the winner, added with weight λ when t < τ. */
  readonly complexity: boolean;
  /** Target patches kept per reference patch in M_corr. */
  readonly topK: number;
  /** The complexity term is on for t < τ (t = 1 is noise, so these are the late, semantically aligned steps); τ = 1: always. */
  readonly tau: number;
  readonly lambda: number;
  /** Gaussian σ of the complexity map, in pixels. */
  readonly sigma: number;
  /** Confidence penalty ρ ∈ [0, 1]: a reference patch's top-k contribution is scaled by (1 − ρ + ρ·confidence). 0: off. */
  readonly rho: number;
}

/** Our defaults (no published values exist; docs/focusdpo.md). */
export const DEFAULT_FOCUS: FocusSpec = { prior: true, correspondence: true, complexity: true, topK: 4, tau: 0.5, lambda: 1, sigma: 1.5, rho: 1 };

/** Uniform W: every term off (plain Diffusion-DPO, or plain flow matching for SFT). */
export const UNIFORM_FOCUS: FocusSpec = { ...DEFAULT_FOCUS, prior: false, correspondence: false, complexity: false };

const FIELDS: readonly (keyof FocusSpec)[] = ['prior', 'correspondence', 'complexity', 'topK', 'tau', 'lambda', 'sigma', 'rho'];

/** Checks a value from a JSON port; every problem is reported at once. */
export function parseFocusSpec(x: unknown, where: string): FocusSpec {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new TypeError(`${where}: the focus input must be a focus map spec from focusdpo/FocusMap, got ${Array.isArray(x) ? 'an array' : typeof x}`);
  const v = x as Record<string, unknown>;
  const bad: string[] = [];
  for (const k of ['prior', 'correspondence', 'complexity'] as const) if (typeof v[k] !== 'boolean') bad.push(`${k} must be a boolean`);
  const num = (k: keyof FocusSpec, lo: number, hi: number, int = false) => {
    const n = v[k];
    if (typeof n !== 'number' || !Number.isFinite(n) || n < lo || n > hi || (int && !Number.isInteger(n))) bad.push(`${k} must be ${int ? 'an integer' : 'a number'} in [${lo}, ${hi}], got ${String(n)}`);
  };
  num('topK', 1, 1 << 20, true);
  num('tau', 0, 1);
  num('lambda', 0, 1e6);
  num('sigma', 0.1, 64);
  num('rho', 0, 1);
  if (bad.length) throw new RangeError(`${where}: invalid focus map spec:\n  ${bad.join('\n  ')}`);
  return Object.fromEntries(FIELDS.map((k) => [k, v[k]])) as unknown as FocusSpec;
}
