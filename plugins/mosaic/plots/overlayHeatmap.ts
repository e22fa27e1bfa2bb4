import type { ImageValue } from 'tessera';
import { viridis } from 'tessera/image';
import { normalizeValues } from './heatmapImage.ts';

/**
 * Blends a viridis heatmap of a patch grid over an image: out = (1 − α)·image + α·heat, the grid
 * stretched to the image by nearest neighbour. Why: attention is easiest to judge on top of the
 * target it points into. Gray images become RGB; an RGBA image keeps its alpha channel.
 *
 * @example
 * const preview = overlayHeatmap(sample.target, mapRow, 16, 16, 0.5);
 */
export function overlayHeatmap(image: ImageValue, values: Float32Array | Float64Array, gridW: number, gridH: number, alpha: number, opts: { readonly normalize?: 'max' | 'sum' } = {}): ImageValue {
  if (!(alpha >= 0 && alpha <= 1)) throw new RangeError(`overlayHeatmap: alpha must be in [0, 1], got ${alpha}`);
  if (!Number.isInteger(gridW) || !Number.isInteger(gridH) || gridW < 1 || gridH < 1) throw new RangeError(`overlayHeatmap: grid must be positive integers, got ${gridW}×${gridH}`);
  if (values.length !== gridW * gridH) throw new RangeError(`overlayHeatmap: ${values.length} values for a ${gridW}×${gridH} grid`);
  const { width, height, channels: ci, data: src } = image;
  if (src.length !== width * height * ci) throw new RangeError(`overlayHeatmap: image data has ${src.length} bytes for ${width}×${height}×${ci}`);
  const v = normalizeValues(values, opts.normalize);
  const co = ci === 4 ? 4 : 3;
  const data = new Uint8Array(width * height * co);
  for (let y = 0; y < height; y++) {
    const gy = Math.min(gridH - 1, Math.floor((y * gridH) / height));
    for (let x = 0; x < width; x++) {
      const gx = Math.min(gridW - 1, Math.floor((x * gridW) / width));
      const heat = viridis(v[gy * gridW + gx]!);
      const i = y * width + x;
      for (let c = 0; c < 3; c++) {
        const base = ci === 1 ? src[i]! : src[i * ci + c]!;
        data[i * co + c] = Math.round((1 - alpha) * base + alpha * heat[c]!);
      }
      if (co === 4) data[i * 4 + 3] = src[i * 4 + 3]!;
    }
  }
  return { width, height, channels: co, data };
}
