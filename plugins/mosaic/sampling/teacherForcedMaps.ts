import { Rng } from 'tessera';
import { Predictor, Tensor } from 'tessera/kernels';
import type { AttentionMaps, SemAlignSample } from 'tessera/semalign';
import { dims } from '../model/MosaicConfig.ts';
import type { MosaicModel } from '../model/MosaicModel.ts';
import { buildBatch, conditionFeeds, groupByK } from '../model/mosaicBatch.ts';
import { latentsFor } from '../model/latentCache.ts';
import { velocityProgram } from '../model/mosaicPrograms.ts';
import { timeFeatures } from '../model/positionFeatures.ts';

/** Options of {@link teacherForcedMaps}. */
export interface TeacherForcedOptions {
  /** Diffusion time of the noised ground truth (small: the target is nearly clean). */
  readonly t: number;
  readonly seed: number;
  readonly batchSize: number;
  readonly signal?: AbortSignal;
}

/**
 * The reference→target correspondence map of each sample with its **ground-truth** target noised
 * to time t, in one forward pass: what the model attends to when it sees the answer, apart from
 * what it attends to while generating. Noise is drawn per (seed, sample id), so a map does not
 * depend on batching. Returns maps in input order, shape [K·L, N].
 */
export async function teacherForcedMaps(model: MosaicModel, samples: readonly SemAlignSample[], o: TeacherForcedOptions): Promise<AttentionMaps[]> {
  if (!model.weights) throw new Error('mosaic: the model has no weights (train it or load a checkpoint)');
  const c = model.config;
  const { n, l, patchDim } = dims(c);
  const out = new Array<AttentionMaps>(samples.length);
  const latents = await latentsFor(model, samples, 'mosaic teacher-forced maps', o.signal);
  for (const [k, indices] of groupByK(samples)) {
    for (let start = 0; start < indices.length; start += o.batchSize) {
      o.signal?.throwIfAborted();
      const idx = indices.slice(start, start + o.batchSize);
      const b = buildBatch(idx.map((i) => samples[i]!), c, latents);
      const xt = new Tensor('float32', [idx.length, n, patchDim]);
      const x0 = b.x0.data as Float32Array;
      const xd = xt.data as Float32Array;
      idx.forEach((i, j) => {
        const rng = new Rng(o.seed).fork(samples[i]!.annotation.id);
        for (let q = j * n * patchDim; q < (j + 1) * n * patchDim; q++) xd[q] = (1 - o.t) * x0[q]! + o.t * rng.normal();
      });
      const p = await Predictor.create(velocityProgram(c, k, idx.length, model.mapBlocks), model.weights.params as Record<string, Tensor>);
      try {
        const r = await p.run({ xt, ...conditionFeeds(b), tfeat: timeFeatures(idx.map(() => o.t), c.width) }, ['map']);
        const src = r.map!.data as Float32Array;
        const size = k * l * n;
        idx.forEach((i, j) => (out[i] = { shape: [k * l, n], data: Float32Array.from(src.subarray(j * size, (j + 1) * size)) }));
      } finally {
        await p.dispose();
      }
    }
  }
  return out;
}
