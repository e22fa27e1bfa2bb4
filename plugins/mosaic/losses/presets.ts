import type { MdlMode } from './mdlRowWeights.ts';
import type { MdlDistance } from './mdlLoss.ts';
import type { ScalMode } from './scalTargets.ts';
import type { BetaSchedule } from './betaAt.ts';

/**
 * A loss recipe independent of the run length: the MDL warm-up is given as fractions of the
 * total steps. Why fractions: the public code's warm-up (off for 10k steps, ramp over 1k) is
 * tied to its ~100k-step runs (10 epochs of the released subset); our runs are far shorter,
 * so we keep the *proportions* — start at 10 % of the run, ramp over 1 % — and turn them into
 * steps with {@link resolveLossPreset} once the run length is known.
 */
export interface LossPreset {
  /** α: SCAL weight. */
  readonly alpha: number;
  /** β: final MDL weight. */
  readonly beta: number;
  /** s0 as a fraction of the run (0 = from the first step). */
  readonly warmupStartFraction: number;
  /** s1 as a fraction of the run (0 = no ramp). */
  readonly rampFraction: number;
  readonly scalMode: ScalMode;
  readonly mdlMode: MdlMode;
  readonly distance: MdlDistance;
}

/** A preset resolved for one run: the warm-up in steps, ready for {@link betaAt}. */
export interface LossSettings extends BetaSchedule {
  readonly alpha: number;
  readonly scalMode: ScalMode;
  readonly mdlMode: MdlMode;
  readonly distance: MdlDistance;
}

/**
 * The two published recipes (reference/methods.md §1.4). `paper`: α 0.4, β 0.6 constant,
 * per-reference SCAL mean, MDL over correspondence points with symmetric KL. `code`: α 0.1,
 * β 1.0 ramped in after 10 % of the run over 1 % (10k and 1k of a 100k-step run), flat pair
 * mean, MDL over all reference tokens with JSD.
 */
export const LOSS_PRESETS = {
  paper: { alpha: 0.4, beta: 0.6, warmupStartFraction: 0, rampFraction: 0, scalMode: 'reference', mdlMode: 'points', distance: 'skl' },
  code: { alpha: 0.1, beta: 1.0, warmupStartFraction: 0.1, rampFraction: 0.01, scalMode: 'pairs', mdlMode: 'tokens', distance: 'jsd' },
} as const satisfies Record<string, LossPreset>;

export type LossPresetName = keyof typeof LOSS_PRESETS;

/**
 * A fraction of a run in whole steps (rounded). A positive fraction never rounds to 0 when
 * `atLeastOne` is set, so a short run still gets a ramp rather than a jump.
 */
export function fractionToSteps(fraction: number, totalSteps: number, atLeastOne = false): number {
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`fractionToSteps: fraction must be in [0, 1], got ${fraction}`);
  if (!Number.isInteger(totalSteps) || totalSteps < 0) throw new RangeError(`fractionToSteps: totalSteps must be a non-negative integer, got ${totalSteps}`);
  const s = Math.round(fraction * totalSteps);
  return atLeastOne && fraction > 0 && totalSteps > 0 ? Math.max(1, s) : s;
}

/**
 * Turns a preset (by name or value) into step-based settings for a run of `totalSteps`.
 *
 * @example
 * resolveLossPreset('code', 100_000); // { alpha: 0.1, beta: 1, warmupStart: 10000, rampSteps: 1000, … }
 */
export function resolveLossPreset(preset: LossPresetName | LossPreset, totalSteps: number): LossSettings {
  const p: LossPreset = typeof preset === 'string' ? LOSS_PRESETS[preset] : preset;
  if (!p) throw new RangeError(`resolveLossPreset: unknown preset '${String(preset)}' (known: ${Object.keys(LOSS_PRESETS).join(', ')})`);
  return {
    alpha: p.alpha,
    beta: p.beta,
    warmupStart: fractionToSteps(p.warmupStartFraction, totalSteps),
    rampSteps: fractionToSteps(p.rampFraction, totalSteps, true),
    scalMode: p.scalMode,
    mdlMode: p.mdlMode,
    distance: p.distance,
  };
}
