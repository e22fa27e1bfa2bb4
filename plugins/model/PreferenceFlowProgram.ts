import { createHash } from 'node:crypto';
import { Rng, type ImageValue } from 'tessera';
import { Tensor, flowMatchingNoise, ops as o, type Graph, type ModelFn, type Sym } from 'tessera/kernels';
import { imagesToTensor } from 'tessera/latent';
import type { TrainBatch, TrainingProgram } from 'tessera/train';
import { DATA_KEY, LORA_KEY, ONNX_KEY, metadataDifferences, stackOnChannels, type ImportedModelState } from './FlowMatchingProgram.ts';
import { REF_PREFIX as REF } from './frozenView.ts';
import { boxDownsample } from './images.ts';
import type { PairObjective } from './pairObjective.ts';

/** What the program reads of an imported-model handle besides (ImportedModel implements it). */
export interface PreferenceModelState extends ImportedModelState {
  trace(g: Graph, x: Sym, t: Sym, condition?: Sym): { output: Sym };
  traceReference(g: Graph, x: Sym, t: Sym, condition?: Sym): { output: Sym };
}

/** Checkpoint key of the objective (name, settings) and the condition source. */
export const OBJECTIVE_KEY = 'model.objective';

interface Pair {
  readonly id: string;
  readonly winner: ImageValue;
  readonly loser: ImageValue;
  readonly refs: readonly ImageValue[];
}

/** The preference pairs in `data`: SemAlign samples with a `loser` image the size of the target (winner). */
function preferencePairs(data: unknown, needRefs: number): Pair[] {
  const how = 'generate SemAlign-Synth with dip ≠ none or use focusdpo/PreferencePairs';
  if (!Array.isArray(data) || data.length === 0) throw new TypeError(`model: a preference objective trains on preference pairs (${how})`);
  return data.map((item, i) => {
    const s = item as { annotation?: { id?: unknown }; target?: ImageValue; loser?: ImageValue; refs?: ImageValue[] } | null;
    const id = typeof s?.annotation?.id === 'string' ? s.annotation.id : `#${i}`;
    if (!s?.target || !s.loser) throw new RangeError(`model: training item ${id} carries no preference pair (target + loser); ${how}`);
    if (s.loser.width !== s.target.width || s.loser.height !== s.target.height) throw new RangeError(`model: ${id}: loser ${s.loser.width}×${s.loser.height} differs from winner ${s.target.width}×${s.target.height}`);
    if (needRefs && s.refs?.length !== needRefs) throw new RangeError(`model: ${id} has ${s.refs?.length ?? 0} references; the condition input takes ${needRefs}`);
    return { id, winner: s.target, loser: s.loser, refs: s.refs ?? [] };
  });
}

/**
 * Trains an imported model on preference pairs under an objective from another plugin (Flow-DPO
 * from focusdpo/DPOLoss): winner and loser noised with the same ε and t ~ U(0, 1), both through
 * the policy and through a frozen copy of the model as it starts (params `ref.*`, carried in the
 * trainer's frozen buffer and left out of weights files), per-pixel flow errors to the objective.
 * With LoRA only the adapters train and the reference is the export plus the starting adapters.
 */
export class PreferenceFlowProgram implements TrainingProgram {
  readonly variants = ['pairs'];
  readonly metrics: string[];
  readonly metadata: Record<string, string>;
  readonly initial?: Record<string, Tensor>;
  private readonly winners: ImageValue[];
  private readonly losers: ImageValue[];
  private readonly conditions: ImageValue[][];
  private readonly fns = new Map<number, ModelFn>();

  constructor(
    private readonly model: PreferenceModelState,
    private readonly objective: PairObjective,
    data: unknown,
  ) {
    const [, h, w] = model.imageShape as [number, number, number];
    const pairs = preferencePairs(data, model.conditionRefs);
    this.winners = pairs.map((p) => boxDownsample(p.winner, w, h, `model: ${p.id} winner`));
    this.losers = pairs.map((p) => boxDownsample(p.loser, w, h, `model: ${p.id} loser`));
    const [, ch, cw] = (model.conditionShape ?? [0, 1, 1]) as [number, number, number];
    this.conditions = model.conditionRefs ? pairs.map((p) => p.refs.map((r, j) => boxDownsample(r, cw, ch, `model: ${p.id} reference ${j} (condition)`))) : [];
    this.metrics = [...objective.metrics];
    const hash = createHash('sha256');
    for (const im of [...this.winners, ...this.losers, ...this.conditions.flat()]) hash.update(im.data);
    this.metadata = {
      [ONNX_KEY]: model.digest,
      [LORA_KEY]: JSON.stringify(model.lora),
      [DATA_KEY]: `${pairs.length}:${hash.digest('hex').slice(0, 16)}`,
      [OBJECTIVE_KEY]: JSON.stringify({ name: objective.name, settings: objective.settings, condition: model.conditionRefs ? 'references' : 'zeros' }),
    };
    // The reference starts as the policy does: from the model's weights when it has some (else
    // both take the export's values and LoRA's initialisation, where B = 0 makes A irrelevant).
    if (model.weights) {
      this.initial = { ...model.weights.params };
      for (const [name, t] of Object.entries(model.weights.params)) this.initial[REF + name] = t;
    }
  }

  modelFn(_variant: string, batchSize: number): ModelFn {
    let fn = this.fns.get(batchSize);
    if (!fn) {
      const B = batchSize;
      const shape = [B, ...this.model.imageShape];
      const positions = this.model.imageShape[1]! * this.model.imageShape[2]!;
      const pairwise = this.objective.pairwise;
      fn = (g) => {
        const x0w = g.input('x0w', shape);
        const both = (a: Sym, b: Sym) => (pairwise ? o.concat([a, b], 0) : a);
        const noise = g.input('noise', shape);
        const t = g.input('t', [B]);
        const cond = this.model.conditionRefs ? g.input('condition', [B, ...this.model.conditionShape!]) : undefined;
        const { xt, target } = flowMatchingNoise(pairwise ? both(x0w, g.input('x0l', shape)) : x0w, both(noise, noise), both(t, t));
        const c = cond && both(cond, cond);
        // Per pixel: the squared error averaged over channels → [rows, H·W].
        const errors = (v: Sym) => o.reshape(o.mean(o.square(o.sub(v, target)), [1]), [v.shape[0]!, positions]);
        const half = (e: Sym, i: number) => (pairwise ? o.slice(e, [i * B], [(i + 1) * B], [0]) : e);
        const policy = errors(this.model.trace(g, xt, both(t, t), c).output);
        const ref = pairwise ? errors(this.model.traceReference(g, xt, both(t, t), c).output) : null;
        return this.objective.trace(
          g,
          { policyW: half(policy, 0), policyL: pairwise ? half(policy, 1) : null, refW: ref && half(ref, 0), refL: ref && half(ref, 1) },
          { batch: B, positions },
        );
      };
      this.fns.set(batchSize, fn);
    }
    return fn;
  }

  batch(step: number, batchSize: number, seed: number): TrainBatch {
    const rng = new Rng(seed).fork(`model-pairs:${step}`);
    const picked = Array.from({ length: batchSize }, () => rng.int(this.winners.length));
    const x0w = imagesToTensor(picked.map((i) => this.winners[i]!));
    const noise = new Tensor('float32', x0w.shape, Float32Array.from({ length: x0w.size }, () => rng.normal()));
    const t = new Tensor('float32', [batchSize], Float32Array.from({ length: batchSize }, () => rng.float()));
    const feeds: TrainBatch['feeds'] = { x0w, noise, t };
    if (this.objective.pairwise) feeds.x0l = imagesToTensor(picked.map((i) => this.losers[i]!));
    if (this.model.conditionRefs) feeds.condition = stackOnChannels(imagesToTensor(picked.flatMap((i) => this.conditions[i]!)), batchSize);
    return { variant: 'pairs', feeds, size: batchSize, metrics: this.metrics };
  }

  checkMetadata(meta: Readonly<Record<string, string>>): string[] {
    return metadataDifferences(meta, this.metadata, OBJECTIVE_KEY, 'none (flow matching)', 'preference objective');
  }

  /** The policy's params only: the reference copy is the starting model, not part of the result. */
  weightsOf(params: Record<string, Tensor>): Record<string, Tensor> {
    return Object.fromEntries(Object.entries(params).filter(([name]) => !name.startsWith(REF)));
  }

  withWeights(params: Record<string, Tensor>, info: { step: number; source: string }): unknown {
    return this.model.withWeights({ params: this.weightsOf(params), source: info.source, step: info.step });
  }
}
