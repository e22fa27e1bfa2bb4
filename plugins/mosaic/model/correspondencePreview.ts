import { Rng, type ImageValue } from 'tessera';
import { Predictor, Tensor } from 'tessera/kernels';
import type { SemAlignSample } from 'tessera/semalign';
import { blit, canvas, rect, SLOT_COLORS } from 'tessera/image';
import { overlayHeatmap } from '../plots/overlayHeatmap.ts';
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

/**
 * A heatmap panel for one sample: per reference, the reference with one annotated patch marked,
 * that patch's attention over the target, and the reference's mean attention over the target.
 */
export function heatmapPanel(model: MosaicModel, sample: SemAlignSample, map: Float32Array, scale = 3): ImageValue {
  const { n, l, grid, refGrid } = dims(model.config);
  const k = sample.refs.length;
  const T = sample.target.width * scale;
  const R = sample.refs[0]!.width * scale;
  const gap = 6;
  const img = canvas(R + 2 * T + 4 * gap, k * (T + gap) + gap, 235);
  const r2t = sample.annotation.correspondence.refToTarget;
  for (let i = 0; i < k; i++) {
    const y = gap + i * (T + gap);
    blit(img, sample.refs[i]!, gap, y, scale);
    rect(img, gap - 1, y - 1, R + 2, R + 2, SLOT_COLORS[i]!);
    // The annotated patch nearest the middle of the reference's visible ones.
    const visible = r2t[i]!.map((v, u) => [u, v] as const).filter(([, v]) => v >= 0);
    const pick = visible[Math.floor(visible.length / 2)]?.[0] ?? Math.floor(l / 2);
    const row = map.subarray((i * l + pick) * n, (i * l + pick + 1) * n);
    const px = gap + (pick % refGrid) * (R / refGrid);
    const py = y + Math.floor(pick / refGrid) * (R / refGrid);
    rect(img, px, py, R / refGrid, R / refGrid, [0, 0, 0]);
    const mean = new Float32Array(n);
    for (let u = 0; u < l; u++) for (let v = 0; v < n; v++) mean[v]! += map[(i * l + u) * n + v]! / l;
    blit(img, overlayHeatmap(sample.target, row, grid, grid, 0.65), 2 * gap + R, y, scale);
    blit(img, overlayHeatmap(sample.target, mean, grid, grid, 0.65), 3 * gap + R + T, y, scale);
  }
  return img;
}
