import type { ImageValue } from 'tessera';
import { viridis } from 'tessera/image';

export interface HeatmapOptions {
  /** Integer nearest-neighbour upscale factor (default 1: one pixel per patch). */
  readonly scale?: number;
  /**
   * `'max'` (default): the largest value is the top color, so any map uses the full range.
   * `'sum'`: values are divided by their sum and shown on an absolute [0, 1] scale, so a peaked
   * distribution is bright and a flat one dark (comparable across maps).
   */
  readonly normalize?: 'max' | 'sum';
}

/** Values → [0, 1] per the normalisation; negatives and non-finite values count as 0. */
export function normalizeValues(values: ArrayLike<number>, normalize: 'max' | 'sum' = 'max'): Float64Array {
  const v = Float64Array.from({ length: values.length }, (_, i) => {
    const x = values[i]!;
    return Number.isFinite(x) && x > 0 ? x : 0;
  });
  let denom = 0;
  for (const x of v) denom = normalize === 'max' ? Math.max(denom, x) : denom + x;
  if (denom > 0) for (let i = 0; i < v.length; i++) v[i] = Math.min(1, v[i]! / denom);
  return v;
}

/**
 * A patch grid of values (e.g. one row of a correspondence map, or a reference's pooled map) as
 * an RGB viridis image, nearest-neighbour upscaled. Why: eager/preview runs show where each
 * reference attends in the target without any plotting dependency.
 *
 * @example
 * const img = heatmapImage(mapRow, 16, 16, { scale: 4 }); // 64×64 RGB
 */
export function heatmapImage(values: Float32Array | Float64Array, gridW: number, gridH: number, opts: HeatmapOptions = {}): ImageValue {
  const scale = opts.scale ?? 1;
  if (!Number.isInteger(gridW) || !Number.isInteger(gridH) || gridW < 1 || gridH < 1) throw new RangeError(`heatmapImage: grid must be positive integers, got ${gridW}×${gridH}`);
  if (values.length !== gridW * gridH) throw new RangeError(`heatmapImage: ${values.length} values for a ${gridW}×${gridH} grid`);
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`heatmapImage: scale must be a positive integer, got ${scale}`);
  const v = normalizeValues(values, opts.normalize);
  const width = gridW * scale;
  const height = gridH * scale;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = viridis(v[Math.floor(y / scale) * gridW + Math.floor(x / scale)]!);
      data.set(c, (y * width + x) * 3);
    }
  }
  return { width, height, channels: 3, data };
}
