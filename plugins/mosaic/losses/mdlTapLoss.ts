import { Tensor } from 'tessera/kernels';
import type { TapLoss } from 'tessera/model';
import { betaAt } from './betaAt.ts';
import { correspondenceMap } from './correspondenceMap.ts';
import { mdlLoss, type MdlDistance } from './mdlLoss.ts';
import { mdlRowWeights, type MdlMode } from './mdlRowWeights.ts';
import { scheduleForRun, type RunBetaSchedule } from './mdlSchedule.ts';

/** MDL as mosaic/MDLoss sets it: β and its warm-up, row pooling and distance. */
export interface MdlTapTerm extends RunBetaSchedule {
  readonly mode: MdlMode;
  readonly distance: MdlDistance;
}

/**
 * MDL as a tap loss of an imported model (model/ImportOnnx with named attention q/k): the same
 * correspondence map as SCAL's, pooled per reference by `mdl.w` [B, K, K·L] and pushed apart by
 * −mean dist(a_i, a_j), as on the built-in model. Its weight is β; `mdl.ramp` (fed each step,
 * betaAt with β = 1) is the warm-up factor, so the logged MDL stays unweighted. Batches with
 * K = 1 have no reference pair and train without it (`minRefs` 2), as on the built-in model.
 */
export function mdlTapLoss(term: MdlTapTerm): TapLoss {
  const { beta, mode, distance } = term;
  const warm = term.fractions ? `, warm-up at ${term.fractions.start} of the run over ${term.fractions.ramp}` : term.warmupStart || term.rampSteps ? `, warm-up from step ${term.warmupStart} over ${term.rampSteps}` : '';
  return {
    name: 'mdl',
    weight: beta,
    minRefs: 2,
    settings: JSON.stringify({ mode, distance, warmupStart: term.warmupStart, rampSteps: term.rampSteps, fractions: term.fractions ?? null }),
    trace: (g, taps, layout) => mdlLoss(correspondenceMap(taps), g.input('mdl.w', [layout.batch, layout.k, layout.k * layout.refTokens]), { distance }),
    scale: (g) => g.input('mdl.ramp', []),
    feeds: (samples, layout, { step, steps }): Record<string, Tensor> => {
      // Checks every sample against the grids, also the single-reference ones that train without MDL.
      const w = mdlRowWeights(samples, { mode, refPatches: layout.refTokens, targetPatches: layout.targetTokens });
      if (layout.k < 2) return {};
      return { 'mdl.w': w, 'mdl.ramp': Tensor.scalar(betaAt(step, { ...scheduleForRun(term, steps), beta: 1 })) };
    },
    describe: () => `MDL β=${beta} (${distance}${warm})`,
  };
}
