import { ops as o, type Sym } from 'tessera/kernels';
import type { PairObjective } from 'tessera/model';
import { dpoMetrics } from './dpoProgram.ts';
import { focusDpoLoss, weightedFlowLoss } from './focusGraph.ts';

/**
 * focusdpo/DPOLoss's objective on an imported model (model/ImportOnnx): the same Flow-DPO loss
 * and metrics as on MOSAIC (focusDpoLoss; 'sft': weightedFlowLoss on winners) over the model's
 * per-pixel errors, with uniform W = 1/P (plain Diffusion-DPO). Why uniform only: the focus
 * terms are built from MOSAIC's patch grid, correspondence maps and condition, which an imported
 * model does not have.
 */
export function importedObjective(run: { readonly objective: 'dpo' | 'sft'; readonly beta: number }): PairObjective {
  const { objective, beta } = run;
  const dpo = objective === 'dpo';
  return {
    name: objective,
    settings: JSON.stringify({ beta, weighting: 'uniform' }),
    pairwise: dpo,
    metrics: dpoMetrics(objective),
    trace(g, e, { batch, positions }): { loss: Sym; outputs: Record<string, Sym> } {
      const w = o.expand(g.constant(1 / positions), [batch, positions]);
      const flowW = o.mean(e.policyW);
      if (!dpo) return { loss: weightedFlowLoss(e.policyW, w), outputs: { flowW } };
      const r = focusDpoLoss({ policyW: e.policyW, policyL: e.policyL!, refW: e.refW!, refL: e.refL! }, w, g.constant(beta));
      return { loss: r.loss, outputs: { acc: r.acc, margin: r.margin, rewardW: r.rewardW, rewardL: r.rewardL, flowW } };
    },
    describe: () => (dpo ? `Diffusion-DPO β=${beta} (uniform W)` : 'SFT on winners'),
  };
}
