import { type ImageValue, Rng } from 'tessera';
import { Predictor, Tensor } from 'tessera/kernels';
import { evaluations, planBatches } from 'tessera/model';
import type { SemAlignSample, AttentionMaps } from 'tessera/semalign';
import { buildBatch, checkSamples, conditionFeeds, groupByK, type LatentLookup } from '../model/mosaicBatch.ts';
import { checkAutoencoder, latentsFor } from '../model/latentCache.ts';
import { dims } from '../model/MosaicConfig.ts';
import type { MosaicModel } from '../model/MosaicModel.ts';
import { cachedVelocityProgram, referenceProgram, velocityProgram } from '../model/mosaicPrograms.ts';
import { unpatchify, unpatchifyLatent } from '../model/patches.ts';
import { timeFeatures } from '../model/positionFeatures.ts';

export interface EulerSampleOptions {
  /** Uniform Euler steps from t = 1 (noise) to t = 0 (≥ 1). */
  readonly steps: number;
  /** Noise seed: each sample's ε depends only on (seed, sample id). */
  readonly seed: number;
  /** Most samples per forward pass (default 8). */
  readonly batchSize?: number;
  /** Blocks whose correspondence maps are averaged and returned (empty/undefined: no maps). */
  readonly mapBlocks?: readonly number[];
  /**
   * Time shift s (SD3): t ↦ s·t / (1 + (s − 1)·t) applied to the uniform grid. Default 1
   * (uniform); s > 1 spends more steps at high noise.
   */
  readonly shift?: number;
  /**
   * 'euler' (one network evaluation per step) or 'heun' (Heun's second-order method: two per
   * step, one on the last step to t = 0). Default 'euler'.
   */
  readonly solver?: 'euler' | 'heun';
  /**
   * With a `refAttention: 'self'` model, compute the references' keys and values once per batch
   * and let every step evaluate only the layout and target tokens (same images within float32
   * rounding, fewer FLOPs). Default true; false evaluates the whole network at every step.
   * Models with the default mask ('target') always take the whole network: there the
   * references depend on the noisy target from the first block on.
   */
  readonly cacheReferences?: boolean;
  /** Called after every network evaluation with (done, total) evaluations. */
  readonly onStep?: (done: number, total: number) => void;
  /** Called when a batch is finished, with the input indices and images of its samples. */
  readonly onBatch?: (indices: readonly number[], images: readonly ImageValue[]) => void;
  readonly signal?: AbortSignal;
}

export interface EulerSampleResult {
  /** Generated targets, in input order. */
  images: ImageValue[];
  /** Per sample, the correspondence map [K·L, N] of the last step (t = 1/steps), when mapBlocks was given. */
  maps?: AttentionMaps[];
}

/** The time grid t₀ = 1 > t₁ > … > t_steps = 0, optionally shifted. */
export function timeGrid(steps: number, shift = 1): Float64Array {
  const ts = new Float64Array(steps + 1);
  for (let i = 0; i <= steps; i++) {
    const t = 1 - i / steps;
    ts[i] = shift === 1 ? t : (shift * t) / (1 + (shift - 1) * t);
  }
  return ts;
}

/**
 * The initial noise ε ~ N(0, 1) of one sample, [N·P] float32: drawn on the host from a
 * generator keyed by (seed, sample id), so a sample's noise (and therefore its image) does not
 * depend on the batch size, the batch order or which other samples it is generated with.
 */
export function sampleNoise(seed: number, id: string, size: number, out = new Float32Array(size), offset = 0): Float32Array {
  const rng = new Rng(seed).fork(`mosaic-noise:${id}`);
  for (let i = 0; i < size; i++) out[offset + i] = rng.normal();
  return out;
}

/** Throws before any session is built when the model or samples cannot be sampled. */
function checkInputs(model: MosaicModel, samples: readonly SemAlignSample[], opts: EulerSampleOptions): void {
  const c = model.config;
  if (!model.weights) throw new Error(`mosaic sampling: the model (${c.preset}) has no weights; train it or load a checkpoint first`);
  if (!Number.isInteger(opts.steps) || opts.steps < 1) throw new RangeError(`mosaic sampling: steps must be a positive integer, got ${opts.steps}`);
  const bs = opts.batchSize ?? 8;
  if (!Number.isInteger(bs) || bs < 1) throw new RangeError(`mosaic sampling: batchSize must be a positive integer, got ${bs}`);
  const shift = opts.shift ?? 1;
  if (!(shift > 0) || !Number.isFinite(shift)) throw new RangeError(`mosaic sampling: shift must be a positive number, got ${shift}`);
  if (opts.solver !== undefined && opts.solver !== 'euler' && opts.solver !== 'heun') throw new RangeError(`mosaic sampling: solver must be 'euler' or 'heun', got ${String(opts.solver)}`);
  if (opts.cacheReferences !== undefined && typeof opts.cacheReferences !== 'boolean') throw new TypeError(`mosaic sampling: cacheReferences must be a boolean, got ${typeof opts.cacheReferences}`);
  if (c.space === 'latent') checkAutoencoder(model.autoencoder, c, 'mosaic sampling');
  const blocks = opts.mapBlocks ?? [];
  const bad = blocks.filter((b) => !Number.isInteger(b) || b < 0 || b >= c.depth);
  if (bad.length) throw new RangeError(`mosaic sampling: map blocks [${bad.join(', ')}] do not exist (blocks 0…${c.depth - 1})`);
  checkSamples(samples, c, 'samples to generate');
}

/**
 * The sessions of one K group: the whole network, or (cached references) the reference branch,
 * run once per batch, and the layout + target branch, run at every step.
 */
type Programs = { full: Predictor } | { refs: Predictor; main: Predictor };

async function programsFor(model: MosaicModel, k: number, size: number, blocks: readonly number[], cache: boolean): Promise<Programs> {
  const c = model.config;
  const params = model.weights!.params as Record<string, Tensor>;
  if (!cache) return { full: await Predictor.create(velocityProgram(c, k, size, blocks), params) };
  const refs = await Predictor.create(referenceProgram(c, k, size, blocks), params);
  try {
    return { refs, main: await Predictor.create(cachedVelocityProgram(c, k, size, blocks), params) };
  } catch (e) {
    await refs.dispose();
    throw e;
  }
}

async function disposePrograms(p: Programs): Promise<void> {
  if ('full' in p) await p.full.dispose();
  else await Promise.all([p.refs.dispose(), p.main.dispose()]);
}

/** One sampling run of a batch (all samples share K); returns its images (decoded for a latent model) and maps. */
async function sampleBatch(
  programs: Programs,
  model: MosaicModel,
  batch: readonly SemAlignSample[],
  real: number,
  ts: Float64Array,
  opts: EulerSampleOptions,
  latents: LatentLookup | undefined,
  wantMap: boolean,
  tick: () => void,
): Promise<{ images: ImageValue[]; maps: AttentionMaps[] }> {
  const c = model.config;
  const { n, patchDim, channels } = dims(c);
  const b = batch.length;
  const host = buildBatch(batch, c, latents);
  const tok = n * patchDim;
  const x = new Float32Array(b * tok);
  batch.forEach((s, i) => sampleNoise(opts.seed, s.annotation.id, tok, x, i * tok));
  const steps = ts.length - 1;
  let map: Tensor | undefined;
  let cond: Record<string, Tensor> = conditionFeeds(host);
  let predictor: Predictor;
  if ('full' in programs) predictor = programs.full;
  else {
    // The references' K/V for every block: computed once here, fed to every step.
    const { refs, refpos, ...layout } = cond;
    cond = { ...layout, ...(await programs.refs.run(refpos ? { refs: refs!, refpos } : { refs: refs! })) };
    predictor = programs.main;
  }
  const velocity = async (xt: Float32Array, t: number, outputs: string[]) => {
    opts.signal?.throwIfAborted();
    const out = await predictor.run({ xt: new Tensor('float32', [b, n, patchDim], xt), tfeat: timeFeatures(new Float64Array(b).fill(t), c.width), ...cond }, outputs);
    tick();
    return out;
  };
  let pred: Float32Array | undefined; // Heun's Euler predictor, reused across steps
  for (let i = 0; i < steps; i++) {
    const t = ts[i]!;
    const next = ts[i + 1]!;
    const dt = t - next;
    const last = i === steps - 1;
    const out = await velocity(x, t, last && wantMap ? ['velocity', 'map'] : ['velocity']);
    const v = out.velocity!.data as Float32Array;
    if (last && wantMap) map = out.map;
    if (opts.solver === 'heun' && next > 0) {
      // Heun: average the slope here and at the Euler prediction's end point.
      pred ??= new Float32Array(x.length);
      for (let j = 0; j < x.length; j++) pred[j] = x[j]! - dt * v[j]!;
      const v2 = (await velocity(pred, next, ['velocity'])).velocity!.data as Float32Array;
      for (let j = 0; j < x.length; j++) x[j] = x[j]! - dt * 0.5 * (v[j]! + v2[j]!);
    } else {
      for (let j = 0; j < x.length; j++) x[j] = x[j]! - dt * v[j]!;
    }
  }
  const maps: AttentionMaps[] = [];
  for (let i = 0; i < real && map; i++) {
    const [, rows, cols] = map.shape as [number, number, number];
    const src = map.data as Float32Array;
    maps.push({ shape: [rows, cols], data: Float32Array.from(src.subarray(i * rows * cols, (i + 1) * rows * cols)) });
  }
  if (c.space !== 'latent') return { images: Array.from({ length: real }, (_, i) => unpatchify(x, c.targetSize, c.patch, i * tok)), maps };
  const side = c.targetSize / c.latentDown;
  const z = new Float32Array(real * channels * side * side);
  for (let i = 0; i < real; i++) unpatchifyLatent(x, channels, side, c.patch, c.latentScale, z.subarray(i * channels * side * side), i * tok);
  const images = await model.autoencoder!.decode({ shape: [real, channels, side, side], data: z });
  return { images, maps };
}

/**
 * Generates targets with a trained MOSAIC model by Euler integration of the flow-matching ODE.
 * Convention (as in training): x_t = (1 − t)·x0 + t·ε and the network predicts v = ε − x0, so
 * starting at t = 1 from ε ~ N(0, 1), x ← x − Δt·v over `steps` steps reaches t = 0.
 *
 * Samples are grouped by K (the token count, hence the session, depends on K) and batched within
 * each group; images come back in input order. Noise is drawn per sample from (seed, sample id),
 * so a sample's image does not depend on the batch it shares. With `mapBlocks`, the reference→
 * target correspondence map of the last step ([K·L, N], rows summing to 1) is returned per
 * sample, the ATTENTION_BATCH format metrics/SemAlignMetrics scores for PCK.
 *
 * @example
 * const { images, maps } = await eulerSample(model, samples, { steps: 20, seed: 0, mapBlocks: model.mapBlocks });
 */
export async function eulerSample(model: MosaicModel, samples: readonly SemAlignSample[], opts: EulerSampleOptions): Promise<EulerSampleResult> {
  checkInputs(model, samples, opts);
  const c = model.config;
  const blocks = opts.mapBlocks ?? [];
  const cache = c.refAttention === 'self' && opts.cacheReferences !== false;
  const wantMap = blocks.length > 0;
  const ts = timeGrid(opts.steps, opts.shift ?? 1);
  const plans = [...groupByK(samples)].map(([k, idx]) => ({ k, ...planBatches(idx, opts.batchSize ?? 8) }));
  const total = plans.reduce((t, p) => t + p.batches.length * evaluations(opts.steps, opts.solver), 0);
  const latents = await latentsFor(model, samples, 'mosaic sampling', opts.signal);
  let done = 0;
  const tick = () => opts.onStep?.(++done, total);

  const images = new Array<ImageValue>(samples.length);
  const maps = wantMap ? new Array<AttentionMaps>(samples.length) : undefined;
  for (const plan of plans) {
    opts.signal?.throwIfAborted();
    const programs = await programsFor(model, plan.k, plan.size, blocks, cache);
    try {
      for (const idx of plan.batches) {
        const batch = idx.map((i) => samples[i]!);
        while (batch.length < plan.size) batch.push(batch[batch.length - 1]!);
        const r = await sampleBatch(programs, model, batch, idx.length, ts, opts, latents, wantMap, tick);
        idx.forEach((i, j) => {
          images[i] = r.images[j]!;
          if (maps) maps[i] = r.maps[j]!;
        });
        opts.onBatch?.(idx, r.images);
      }
    } finally {
      await disposePrograms(programs);
    }
  }
  return maps ? { images, maps } : { images };
}
