/** The MDL weight schedule: off until `warmupStart`, a linear ramp over `rampSteps`, then `beta`. */
export interface BetaSchedule {
  readonly beta: number;
  /** Step s0 before which β = 0. */
  readonly warmupStart: number;
  /** Steps s1 of the linear ramp 0 → β starting at s0 (0 = jump straight to β). */
  readonly rampSteps: number;
}

/**
 * β at a training step. Why a ramp: the public code enables MDL only once SCAL has shaped
 * the correspondence maps (w_sep = 0 before 10k steps, 0 → 1 over 10k–11k); pushing the
 * references apart before they attend anywhere meaningful only adds noise. The paper's
 * constant β is `warmupStart = rampSteps = 0`.
 *
 * @example
 * betaAt(10_500, { beta: 1, warmupStart: 10_000, rampSteps: 1_000 }); // 0.5
 */
export function betaAt(step: number, s: BetaSchedule): number {
  if (!(s.warmupStart >= 0) || !(s.rampSteps >= 0)) throw new RangeError(`betaAt: warmupStart and rampSteps must be ≥ 0, got ${s.warmupStart} and ${s.rampSteps}`);
  if (step < s.warmupStart) return 0;
  if (s.rampSteps === 0) return s.beta;
  return s.beta * Math.min(1, (step - s.warmupStart) / s.rampSteps);
}
