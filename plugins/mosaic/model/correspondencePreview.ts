import { Rng, type ImageValue } from 'tessera';
import { Predictor, Tensor } from 'tessera/kernels';
import type { SemAlignSample } from 'tessera/semalign';
import { correspondencePanel } from '../plots/correspondencePanel.ts';
import { buildBatch, conditionFeeds } from './mosaicBatch.ts';
import { latentsFor } from './latentCache.ts';
import { dims } from './MosaicConfig.ts';
import type { MosaicModel } from './MosaicModel.ts';
import { velocityProgram } from './mosaicPrograms.ts';
import { timeFeatures } from './positionFeatures.ts';

/**
 * The correspondence map [K·L, N] of one sample at diffusion time `t` (the target noised with
 * seeded noise), averaged over the handle's chosen blocks: what SCAL and MDL see in training.
 */
export async function correspondenceMapOf(model: MosaicModel, sample: SemAlignSample, t: number, seed: number): Promise<Float32Array> {
  if (!model.weights) throw new Error('mosaic: the model has no weights (train it or load a checkpoint) — a preview needs them');
  const c = model.config;
  const { n, patchDim } = dims(c);
  const b = buildBatch([sample], c, await latentsFor(model, [sample], 'mosaic correspondence preview'));
  const rng = new Rng(seed).fork(sample.annotation.id);
  const xt = new Tensor('float32', [1, n, patchDim]);
  const x0 = b.x0.data as Float32Array;
  for (let i = 0; i < x0.length; i++) (xt.data as Float32Array)[i] = (1 - t) * x0[i]! + t * rng.normal();
  const p = await Predictor.create(velocityProgram(c, b.k, 1, model.mapBlocks), model.weights.params as Record<string, Tensor>);
  try {
    const out = await p.run({ xt, ...conditionFeeds(b), tfeat: timeFeatures([t], c.width) }, ['map']);
    return out.map!.data as Float32Array;
  } finally {
    await p.dispose();
  }
}

/** The heatmap panel (plots/correspondencePanel) of one sample's map on the model's grids. */
export function heatmapPanel(model: MosaicModel, sample: SemAlignSample, map: Float32Array, scale = 3): ImageValue {
  return correspondencePanel(dims(model.config), sample, map, scale);
}
