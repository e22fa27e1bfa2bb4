import { flowMatchingNoise, ops as o, type Graph, type ModelFn, type Sym } from 'tessera/kernels';
import { dims, networkInputs, velocityProgram, type MosaicConfig } from 'tessera/mosaic';
import { correspondenceFocus, focusDpoLoss, focusWeights, weightedFlowLoss } from './focusGraph.ts';
import type { FocusSpec } from './focusSpec.ts';
import { networkView, policyParams, referenceParams } from './networkView.ts';

/** What a DPO step graph optimises. */
export interface DpoSettings {
  /** 'dpo': (Focus)Flow-DPO against the frozen reference; 'sft': weighted flow matching on winners only. */
  readonly objective: 'dpo' | 'sft';
  /** Trainable parameters of the policy: all, or the reference-branch LoRA adapters only. */
  readonly subset: 'all' | 'lora';
  readonly focus: FocusSpec;
  /** Blocks whose correspondence maps feed M_corr. */
  readonly mapBlocks: readonly number[];
}

/** Per-patch flow-matching error ‖v − v̂‖² averaged over a patch's values → [S, N]. */
const patchErrors = (velocity: Sym, target: Sym): Sym => o.mean(o.square(o.sub(velocity, target)), 2);

/**
 * The focus map W [B, N] of a batch, traced into `g`: the terms the spec switches on, from the
 * graph inputs focus.prior [B, N], focus.cx [B, N], focus.gate [B], focus.lambda, focus.rho and
 * the winner half of a correspondence map (null when M_corr is off).
 */
export function tracedFocus(g: Graph, spec: FocusSpec, B: number, N: number, winnerMap: Sym | null): Sym {
  return focusWeights(
    {
      prior: spec.prior ? g.input('focus.prior', [B, N]) : null,
      corr: spec.correspondence && winnerMap ? correspondenceFocus(winnerMap, spec.topK, g.input('focus.rho', [])) : null,
      complexity: spec.complexity ? g.input('focus.cx', [B, N]) : null,
      gate: spec.complexity ? g.input('focus.gate', [B]) : o.expand(o.reshape(g.constant(0), [1]), [B]),
      lambda: spec.complexity ? g.input('focus.lambda', []) : g.constant(0),
    },
    B,
    N,
  );
}

/**
 * ONE training-step program holding the policy and a frozen copy of the base model (params
 * `ref.*`, trainable: false, carried in the trainer's frozen buffer): winner and loser are noised
 * with the same ε and t, both networks (mosaic's velocityProgram, traced twice) see [winners;
 * losers] as one batch, and the loss is the focus-weighted Flow-DPO objective (or, for 'sft',
 * the focus-weighted flow matching on winners, with no reference network unless M_corr needs it).
 */
export function dpoStepProgram(c: MosaicConfig, k: number, batch: number, s: DpoSettings): ModelFn {
  const { n, patchDim } = dims(c);
  const dpo = s.objective === 'dpo';
  const needRef = dpo || s.focus.correspondence;
  return (g) => {
    const B = batch;
    const x0w = g.input('x0w', [B, n, patchDim]);
    const halves = dpo ? [x0w, g.input('x0l', [B, n, patchDim])] : [x0w];
    const S = halves.length * B;
    const stack = (x: Sym) => (halves.length === 1 ? x : o.concat([x, x], 0));
    const t = g.input('t', [B]);
    // The condition inputs exactly as mosaic declares them (v2: pose features in boxes, refpos),
    // once for B; both halves of the [winners; losers] batch share them.
    const cond = networkInputs(g, c, k, B);
    const noise = o.randomNormal(g, [B, n, patchDim]);
    const { xt, target } = flowMatchingNoise(halves.length === 1 ? x0w : o.concat(halves, 0), stack(noise), stack(t));
    const bound = new Map<string, Sym>([['xt', xt]]);
    for (const [name, sym] of Object.entries(cond)) bound.set(name, stack(sym));

    const policy = velocityProgram(c, k, S)(networkView(g, bound, policyParams(g, s.subset)));
    const ePolicy = patchErrors(policy.velocity!, target);
    const useMap = s.focus.correspondence && s.mapBlocks.length > 0;
    const ref = needRef ? velocityProgram(c, k, S, useMap ? s.mapBlocks : [])(networkView(g, bound, referenceParams(g))) : null;
    const winnerMap = ref?.map ? (S === B ? ref.map : o.slice(ref.map, [0], [B], [0])) : null;
    const w = tracedFocus(g, s.focus, B, n, winnerMap);
    const half = (x: Sym, i: number) => (S === B ? x : o.slice(x, [i * B], [(i + 1) * B], [0]));
    const flowW = o.mean(half(ePolicy, 0));
    if (!dpo) return { loss: weightedFlowLoss(half(ePolicy, 0), w), outputs: { flowW } as Record<string, Sym> };
    const eRef = patchErrors(ref!.velocity!, target);
    const r = focusDpoLoss({ policyW: half(ePolicy, 0), refW: half(eRef, 0), policyL: half(ePolicy, 1), refL: half(eRef, 1) }, w, g.input('dpo.beta', []));
    const outputs: Record<string, Sym> = { acc: r.acc, margin: r.margin, rewardW: r.rewardW, rewardL: r.rewardL, flowW };
    return { loss: r.loss, outputs };
  };
}

/** The metrics a step of this program logs. */
export const dpoMetrics = (objective: DpoSettings['objective']): string[] => (objective === 'dpo' ? ['acc', 'margin', 'rewardW', 'rewardL', 'flowW'] : ['flowW']);
