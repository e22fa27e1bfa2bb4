import type { BetaSchedule } from './betaAt.ts';
import { fractionToSteps } from './presets.ts';

/** MDL's β schedule as mosaic/MDLoss sets it: in steps, or (presets) as fractions of the run. */
export interface RunBetaSchedule extends BetaSchedule {
  /** When set, the warm-up is these fractions of the run instead of `warmupStart`/`rampSteps`. */
  readonly fractions?: { readonly start: number; readonly ramp: number };
}

/**
 * The schedule in steps for a run of `totalSteps`, ready for {@link betaAt}. Why here: the
 * built-in model's training program and the imported model's MDL tap loss resolve it alike.
 *
 * @example
 * scheduleForRun({ beta: 1, warmupStart: 0, rampSteps: 0, fractions: { start: 0.1, ramp: 0.01 } }, 200); // { beta: 1, warmupStart: 20, rampSteps: 2 }
 */
export function scheduleForRun(s: RunBetaSchedule, totalSteps: number): BetaSchedule {
  const f = s.fractions;
  return f
    ? { beta: s.beta, warmupStart: fractionToSteps(f.start, totalSteps), rampSteps: fractionToSteps(f.ramp, totalSteps, true) }
    : { beta: s.beta, warmupStart: s.warmupStart, rampSteps: s.rampSteps };
}
