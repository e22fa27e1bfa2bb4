import type { ImageValue } from 'tessera';
import { blit, canvas } from 'tessera/image';
import { Predictor, Tensor, type Graph } from 'tessera/kernels';
import { buildBatch, conditionFeeds, dims, latentsFor, overlayHeatmap, sampleNoise, timeFeatures, velocityProgram, type MosaicModel } from 'tessera/mosaic';
import { complexityMap, maskToPatches } from './complexityMap.ts';
import { tracedFocus } from './dpoProgram.ts';
import type { FocusSpec } from './focusSpec.ts';
import type { PreferencePair } from './pairs.ts';

/**
 * W_t of one pair at each time in `times` (eager mode of focusdpo/FocusMap), with the same
 * traced code the training step uses: the winner (a latent base: its latents) noised to t with
 * one ε per (seed, pair id), the model's correspondence map at t, then the focus terms. Returns
 * one [N] map per t, over the model's target token grid.
 */
export async function focusMapsAt(model: MosaicModel, pair: PreferencePair, spec: FocusSpec, times: readonly number[], seed: number, signal?: AbortSignal): Promise<Float64Array[]> {
  if (!model.weights) throw new Error('focusdpo/FocusMap: eager mode needs a model with weights (M_corr is the model’s own attention)');
  const c = model.config;
  const { n, patchDim, tokenPixels } = dims(c);
  const k = pair.refs.length;
  const T = times.length;
  const b = buildBatch(Array.from({ length: T }, () => pair), c, await latentsFor(model, [pair], 'focusdpo/FocusMap', signal));
  const eps = sampleNoise(seed, pair.annotation.id, n * patchDim);
  const xt = new Tensor('float32', [T, n, patchDim]);
  const x0 = b.x0.data as Float32Array;
  times.forEach((t, j) => {
    for (let q = 0; q < n * patchDim; q++) (xt.data as Float32Array)[j * n * patchDim + q] = (1 - t) * x0[q]! + t * eps[q]!;
  });
  const fn = (g: Graph) => {
    const net = velocityProgram(c, k, T, spec.correspondence ? model.mapBlocks : [])(g);
    return { w: tracedFocus(g, spec, T, n, net.map ?? null) };
  };
  const feeds: Record<string, Tensor> = { xt, ...conditionFeeds(b), tfeat: timeFeatures(times, c.width) };
  const rep = (m: Float64Array) => {
    const out = new Float32Array(T * n);
    for (let j = 0; j < T; j++) out.set(m, j * n);
    return new Tensor('float32', [T, n], out);
  };
  if (spec.prior) feeds['focus.prior'] = rep(maskToPatches(pair.dipMask, tokenPixels));
  if (spec.complexity) {
    feeds['focus.cx'] = rep(complexityMap(pair.target, { patch: tokenPixels, sigma: spec.sigma }));
    feeds['focus.gate'] = Tensor.from(times.map((t) => (t < spec.tau ? 1 : 0)), [T]);
    feeds['focus.lambda'] = Tensor.scalar(spec.lambda);
  }
  if (spec.correspondence && model.mapBlocks.length) feeds['focus.rho'] = Tensor.scalar(spec.rho);
  const p = await Predictor.create(fn, model.weights.params as Record<string, Tensor>);
  try {
    const r = await p.run(feeds, ['w']);
    const w = r.w!.data as Float32Array;
    return times.map((_, j) => Float64Array.from(w.subarray(j * n, (j + 1) * n)));
  } finally {
    await p.dispose();
  }
}

/** One row: winner | loser | prior mask | W_t over the winner for each t (each panel max-normalised). */
export function focusSheet(pair: PreferencePair, maps: readonly Float64Array[], grid: number, scale: number): ImageValue {
  const W = pair.target.width * scale;
  const gap = 4;
  const panels: ImageValue[] = [pair.target, pair.loser, pair.dipMask, ...maps.map((m) => overlayHeatmap(pair.target, m, grid, grid, 0.7))];
  const out = canvas(panels.length * (W + gap) - gap, pair.target.height * scale);
  panels.forEach((img, i) => blit(out, img, i * (W + gap), 0, scale));
  return out;
}
