import { Rng, type ImageValue } from 'tessera';
import { Predictor, Tensor, type Graph, type Sym } from 'tessera/kernels';
import { imagesToTensor, tensorToImages } from 'tessera/latent';
import { stackOnChannels } from './FlowMatchingProgram.ts';
import type { ImportedModel } from './ImportedModel.ts';
import { evaluations, planBatches } from './batchPlan.ts';
import { boxDownsample } from './images.ts';
import { programParams } from './programParams.ts';

/** One image to generate: its id (which keys its noise) and, for a condition fed from references, its K references. */
export interface GenerationItem {
  readonly id: string;
  readonly refs?: readonly ImageValue[];
}

export interface ImportedSampleOptions {
  /** Uniform steps from t = 1 (noise) to t = 0 (≥ 1). */
  readonly steps: number;
  /** 'euler': one evaluation per step; 'heun': Heun's method, two per step (one on the last, to t = 0). */
  readonly solver: 'euler' | 'heun';
  /** Noise seed: an item's ε depends only on (seed, item id). */
  readonly seed: number;
  /** Most items per forward pass. */
  readonly batchSize: number;
  readonly signal?: AbortSignal;
  /** Called after every network evaluation with (done, total). */
  readonly onStep?: (done: number, total: number) => void;
}

export interface ImportedSampleResult {
  /** The generated images, in item order, at the model's input size. */
  images: ImageValue[];
  /** Each item's final x (t = 0), [C·H·W] float32 before clipping to [−1, 1]. */
  values: Float32Array[];
}

/** ε ~ N(0, 1) of one item, [size] float32, from a generator keyed by (seed, id): independent of batching. */
export function generationNoise(seed: number, id: string, size: number): Float32Array {
  const rng = new Rng(seed).fork(`model-noise:${id}`);
  return Float32Array.from({ length: size }, () => rng.normal());
}

function checkOptions(opts: ImportedSampleOptions): void {
  if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new RangeError(`model/Sample: steps must be a positive integer, got ${opts.steps}`);
  if (opts.solver !== 'euler' && opts.solver !== 'heun') throw new RangeError(`model/Sample: solver must be 'euler' or 'heun', got ${String(opts.solver)}`);
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new RangeError(`model/Sample: batchSize must be a positive integer, got ${opts.batchSize}`);
  if (!Number.isInteger(opts.seed) || opts.seed < 0) throw new RangeError(`model/Sample: seed must be a non-negative integer, got ${opts.seed}`);
}

/** The condition input of one item, [3·K, h, w] float32: its references box-averaged to h×w, stacked on channels (as FlowMatchingProgram feeds it). */
function conditionOf(model: ImportedModel, item: GenerationItem): Float32Array {
  const K = model.conditionRefs;
  const refs = item.refs ?? [];
  if (refs.length !== K) throw new RangeError(`model/Sample: sample ${item.id} has ${refs.length} references; the condition input takes ${K} (3·K = ${model.conditionShape![0]} channels)`);
  const [, h, w] = model.conditionShape as [number, number, number];
  return stackOnChannels(imagesToTensor(refs.map((r, j) => boxDownsample(r, w, h, `model/Sample: sample ${item.id} reference ${j} (condition)`))), 1).data as Float32Array;
}

/**
 * Generates one image per item with an imported flow model by integrating its velocity from noise
 * to data. The convention is the one FlowMatchingProgram trains: x_t = (1 − t)·x0 + t·ε and the
 * export predicts v = ε − x0 from (x_t, t · timeScale), so starting at t = 1 from ε ~ N(0, 1),
 * x ← x − Δt·v over a uniform grid reaches t = 0 (Heun averages v at both ends of each step but
 * the last). The condition input gets each item's references (conditionFrom 'references') or
 * zeros. Weights: the training run's (LoRA adapters included), else the export's own.
 */
export async function sampleImported(handle: ImportedModel, items: readonly GenerationItem[], opts: ImportedSampleOptions): Promise<ImportedSampleResult> {
  checkOptions(opts);
  if (!items.length) throw new RangeError('model/Sample: nothing to generate');
  const model = handle.forInference();
  const size = model.imageShape.reduce((a, b) => a * b, 1);
  // Conditions checked for every item before any session is built.
  const conds = model.conditionRefs ? items.map((it) => conditionOf(model, it)) : null;
  const condSize = model.conditionRefs ? model.conditionShape!.reduce((a, b) => a * b, 1) : 0;
  const plan = planBatches(items.map((_, i) => i), opts.batchSize);
  const b = plan.size;
  const program = (g: Graph): Record<string, Sym> => {
    const cond = conds ? g.input('condition', [b, ...model.conditionShape!]) : undefined;
    return { v: model.trace(g, g.input('x', [b, ...model.imageShape]), g.input('t', [b]), cond).output };
  };
  const predictor = await Predictor.create(program, programParams(program, model.weights?.params));
  const total = plan.batches.length * evaluations(opts.steps, opts.solver);
  let done = 0;
  const values = new Array<Float32Array>(items.length);
  try {
    for (const idx of plan.batches) {
      const rows = Array.from({ length: b }, (_, r) => idx[Math.min(r, idx.length - 1)]!);
      const x = new Float32Array(b * size);
      rows.forEach((i, r) => x.set(generationNoise(opts.seed, items[i]!.id, size), r * size));
      const feeds: Record<string, Tensor> = Object.create(null);
      if (conds) {
        const c = new Float32Array(b * condSize);
        rows.forEach((i, r) => c.set(conds[i]!, r * condSize));
        feeds.condition = new Tensor('float32', [b, ...model.conditionShape!], c);
      }
      const velocity = async (xt: Float32Array, t: number): Promise<Float32Array> => {
        opts.signal?.throwIfAborted();
        const out = await predictor.run({ ...feeds, x: new Tensor('float32', [b, ...model.imageShape], xt), t: new Tensor('float32', [b], new Float32Array(b).fill(t)) });
        opts.onStep?.(++done, total);
        return out.v!.data as Float32Array;
      };
      let pred: Float32Array | undefined;
      for (let i = 0; i < opts.steps; i++) {
        const t = 1 - i / opts.steps;
        const next = 1 - (i + 1) / opts.steps;
        const dt = t - next;
        const v = await velocity(x, t);
        if (opts.solver === 'heun' && i < opts.steps - 1) {
          pred ??= new Float32Array(x.length);
          for (let j = 0; j < x.length; j++) pred[j] = x[j]! - dt * v[j]!;
          const v2 = await velocity(pred, next);
          for (let j = 0; j < x.length; j++) x[j] = x[j]! - dt * 0.5 * (v[j]! + v2[j]!);
        } else {
          for (let j = 0; j < x.length; j++) x[j] = x[j]! - dt * v[j]!;
        }
      }
      idx.forEach((i, r) => (values[i] = x.slice(r * size, (r + 1) * size)));
    }
  } finally {
    await predictor.dispose();
  }
  const images = tensorToImages({ shape: [items.length, ...model.imageShape], data: concat(values, size) });
  return { images, values };
}

function concat(parts: readonly Float32Array[], size: number): Float32Array {
  const out = new Float32Array(parts.length * size);
  parts.forEach((p, i) => out.set(p, i * size));
  return out;
}
