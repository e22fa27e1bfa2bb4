/**
 * Learning-rate schedules: functions of the number of completed steps, evaluated in JS and fed
 * to the step graph as its `lr` input (so changing the schedule never recompiles the graph).
 *
 * @example
 * const lr = schedules.warmupCosine({ peak: 1e-3, warmupSteps: 100, totalSteps: 10_000 });
 * adamw({ lr });
 */
export const schedules = {
  constant: (lr: number) => (_step: number) => lr,
  /** Linear warm-up from 0 to `peak` over `warmupSteps`, then constant. */
  linearWarmup:
    ({ peak, warmupSteps }: { peak: number; warmupSteps: number }) =>
    (step: number) =>
      step < warmupSteps ? (peak * (step + 1)) / warmupSteps : peak,
  /** Linear warm-up, then cosine decay to `minLr` at `totalSteps`. */
  warmupCosine:
    ({ peak, warmupSteps, totalSteps, minLr = 0 }: { peak: number; warmupSteps: number; totalSteps: number; minLr?: number }) =>
    (step: number) => {
      if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
      const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
      return minLr + 0.5 * (peak - minLr) * (1 + Math.cos(Math.PI * progress));
    },
};
