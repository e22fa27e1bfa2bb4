import type { TapLoss } from 'tessera/model';
import { correspondenceMap } from './correspondenceMap.ts';
import { scalLoss } from './scalLoss.ts';
import { scalTargets, type ScalMode } from './scalTargets.ts';

/**
 * SCAL as a tap loss of an imported model (model/ImportOnnx with named attention q/k): the same
 * correspondence map (softmax of reference queries against target keys, mean over heads and
 * sites), pair weights and −Σ W·log(A + 1e-9) as the built-in model's, read from the imported
 * model's taps. Its weight input is `scal.w` [B, K·L, N], fed per batch from the samples.
 */
export function scalTapLoss(term: { readonly alpha: number; readonly mode: ScalMode }): TapLoss {
  const { alpha, mode } = term;
  return {
    name: 'scal',
    weight: alpha,
    settings: JSON.stringify({ mode }),
    trace: (g, taps, layout) => scalLoss(correspondenceMap(taps), g.input('scal.w', [layout.batch, layout.k * layout.refTokens, layout.targetTokens])),
    feeds: (samples, layout) => ({ 'scal.w': scalTargets(samples, { mode, refPatches: layout.refTokens, targetPatches: layout.targetTokens }) }),
    describe: () => `SCAL α=${alpha} (${mode === 'reference' ? 'per reference' : 'pairs'})`,
  };
}
