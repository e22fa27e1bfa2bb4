import type { ImageValue } from 'tessera';

/**
 * Structure measures on a subject's ground-truth pixels, which a flat fill cannot win: a masked
 * SSIM (its contrast–structure factor punishes a flat region wherever the truth is textured) and
 * the correlation of image gradients (exactly 0 for a flat region). Formulas: docs/metrics.md.
 */

/** SSIM stabilisers for 8-bit data: (0.01·255)², (0.03·255)². */
const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;
/** Half-width of the square SSIM window (5 × 5). */
const RADIUS = 2;

/** Sums over one region, poolable across regions (add the fields, then finish). */
export interface StructureSums {
  /** Σ over region pixels of the per-pixel SSIM (channel mean), and the pixel count. */
  readonly ssimSum: number;
  readonly ssimPixels: number;
  /** Σ ∇G·∇T, Σ|∇G|², Σ|∇T|² over interior pixels, all channels. */
  readonly gradDot: number;
  readonly gradG: number;
  readonly gradT: number;
}

/**
 * Structure sums of `gen` against `truth` over the pixels where `mask[p]` is non-zero, within
 * `bounds` [x0, y0, x1, y1). SSIM windows are the 5 × 5 neighbourhood cut to the mask (pixels
 * outside the subject never enter its statistics); gradients are central differences at pixels
 * whose four neighbours are in the mask (the silhouette edge is not structure).
 */
export function structureSums(gen: ImageValue, truth: ImageValue, mask: Uint8Array, bounds: readonly [number, number, number, number]): StructureSums {
  const W = truth.width;
  const H = truth.height;
  const gc = gen.channels;
  const tc = truth.channels;
  const [x0, y0, x1, y1] = bounds;
  let ssimSum = 0;
  let ssimPixels = 0;
  let gradDot = 0;
  let gradG = 0;
  let gradT = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const p = y * W + x;
      if (mask[p] === 0) continue;
      let s = 0;
      for (let c = 0; c < 3; c++) {
        let n = 0;
        let sg = 0;
        let st = 0;
        let sgg = 0;
        let stt = 0;
        let sgt = 0;
        for (let yy = Math.max(0, y - RADIUS); yy <= Math.min(H - 1, y + RADIUS); yy++) {
          for (let xx = Math.max(0, x - RADIUS); xx <= Math.min(W - 1, x + RADIUS); xx++) {
            const q = yy * W + xx;
            if (mask[q] === 0) continue;
            const g = gen.data[q * gc + c]!;
            const t = truth.data[q * tc + c]!;
            n++;
            sg += g;
            st += t;
            sgg += g * g;
            stt += t * t;
            sgt += g * t;
          }
        }
        const mg = sg / n;
        const mt = st / n;
        const vg = Math.max(0, sgg / n - mg * mg);
        const vt = Math.max(0, stt / n - mt * mt);
        const cov = sgt / n - mg * mt;
        s += ((2 * mg * mt + C1) * (2 * cov + C2)) / ((mg * mg + mt * mt + C1) * (vg + vt + C2));
      }
      ssimSum += s / 3;
      ssimPixels++;
      if (x === 0 || y === 0 || x === W - 1 || y === H - 1) continue;
      if (mask[p - 1] === 0 || mask[p + 1] === 0 || mask[p - W] === 0 || mask[p + W] === 0) continue;
      for (let c = 0; c < 3; c++) {
        const gx = gen.data[(p + 1) * gc + c]! - gen.data[(p - 1) * gc + c]!;
        const gy = gen.data[(p + W) * gc + c]! - gen.data[(p - W) * gc + c]!;
        const tx = truth.data[(p + 1) * tc + c]! - truth.data[(p - 1) * tc + c]!;
        const ty = truth.data[(p + W) * tc + c]! - truth.data[(p - W) * tc + c]!;
        gradDot += gx * tx + gy * ty;
        gradG += gx * gx + gy * gy;
        gradT += tx * tx + ty * ty;
      }
    }
  }
  return { ssimSum, ssimPixels, gradDot, gradG, gradT };
}

/** Adds sums of several regions (pooled pixels). */
export function addSums(parts: readonly StructureSums[]): StructureSums {
  const z = { ssimSum: 0, ssimPixels: 0, gradDot: 0, gradG: 0, gradT: 0 };
  for (const s of parts) {
    z.ssimSum += s.ssimSum;
    z.ssimPixels += s.ssimPixels;
    z.gradDot += s.gradDot;
    z.gradG += s.gradG;
    z.gradT += s.gradT;
  }
  return z;
}

/** Mean SSIM over the region's pixels (null for an empty region). */
export const ssimOf = (s: StructureSums): number | null => (s.ssimPixels > 0 ? s.ssimSum / s.ssimPixels : null);

/**
 * Gradient correlation Σ∇G·∇T / √(Σ|∇G|² Σ|∇T|²) in [−1, 1]: 0 when the generation is flat,
 * null when the truth itself is flat there (nothing to correlate with).
 */
export function edgeCorrOf(s: StructureSums): number | null {
  if (s.gradT === 0) return null;
  return s.gradG === 0 ? 0 : s.gradDot / Math.sqrt(s.gradG * s.gradT);
}
