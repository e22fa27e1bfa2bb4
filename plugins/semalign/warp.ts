import type { ImageValue } from 'tessera';
import { type Affine, invert } from './geometry.ts';
import type { SemAlignAnnotation } from './sample.ts';

/** Bilinear sample of an RGB(A) image at continuous pixel coords (pixel centres at +0.5), edge-clamped. */
export function sampleBilinear(img: ImageValue, x: number, y: number, out: Float64Array): void {
  const { width: W, height: H, channels: ch, data } = img;
  const fx = Math.min(W - 1, Math.max(0, x - 0.5));
  const fy = Math.min(H - 1, Math.max(0, y - 0.5));
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const x1 = Math.min(W - 1, x0 + 1);
  const y1 = Math.min(H - 1, y0 + 1);
  const ax = fx - x0;
  const ay = fy - y0;
  for (let c = 0; c < 3; c++) {
    const a = data[(y0 * W + x0) * ch + c]!;
    const b = data[(y0 * W + x1) * ch + c]!;
    const d = data[(y1 * W + x0) * ch + c]!;
    const e = data[(y1 * W + x1) * ch + c]!;
    out[c] = (a + (b - a) * ax) * (1 - ay) + (d + (e - d) * ax) * ay;
  }
}

const SUB = [0.25, 0.25, 0.75, 0.25, 0.25, 0.75, 0.75, 0.75] as const;

/**
 * Warps a reference into the target frame with a reference→target affine: each target pixel
 * where `mask[p]` is non-zero averages 4 bilinear samples of the reference at its pre-images (a box
 * filter, since references are usually larger than their subjects in the target); other pixels
 * are 0. Output is RGB at the target size; `bounds` [x0, y0, x1, y1) limits the work.
 */
export function warpReference(
  ref: ImageValue,
  refToTarget: Affine,
  width: number,
  height: number,
  mask: Uint8Array,
  bounds: readonly [number, number, number, number] = [0, 0, width, height],
): ImageValue {
  const m = invert(refToTarget);
  const data = new Uint8Array(width * height * 3);
  const c = new Float64Array(3);
  for (let y = bounds[1]; y < bounds[3]; y++) {
    for (let x = bounds[0]; x < bounds[2]; x++) {
      const p = y * width + x;
      if (mask[p] === 0) continue;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let s = 0; s < 8; s += 2) {
        const px = x + SUB[s]!;
        const py = y + SUB[s + 1]!;
        sampleBilinear(ref, m[0] * px + m[1] * py + m[2], m[3] * px + m[4] * py + m[5], c);
        r += c[0]!;
        g += c[1]!;
        b += c[2]!;
      }
      data[3 * p] = Math.round(r / 4);
      data[3 * p + 1] = Math.round(g / 4);
      data[3 * p + 2] = Math.round(b / 4);
    }
  }
  return { width, height, channels: 3, data };
}

/**
 * Predicts the target's subject pixels from the references through the stored patch
 * correspondences: a pixel in an owned target patch v takes the reference color at
 * refPoint[v] + A⁻¹·(pixel − centre(v)), where A is the owner's linear pose part. Pixels of
 * unowned patches stay 0 and are reported as not predicted.
 */
export function warpThroughCorrespondences(a: SemAlignAnnotation, refs: readonly ImageValue[]): { image: ImageValue; predicted: Uint8Array } {
  const c = a.correspondence;
  const W = a.target.width;
  const H = a.target.height;
  const P = c.patchSize;
  const data = new Uint8Array(W * H * 3);
  const predicted = new Uint8Array(W * H);
  const lin = a.subjects.map((s) => invert(s.refToTarget));
  const col = new Float64Array(3);
  for (let v = 0; v < c.owner.length; v++) {
    const slot = c.owner[v]!;
    if (slot < 0) continue;
    const gx = v % c.targetGrid[0];
    const gy = Math.floor(v / c.targetGrid[0]);
    const cx = (gx + 0.5) * P;
    const cy = (gy + 0.5) * P;
    const qx = c.refPoint[2 * v]!;
    const qy = c.refPoint[2 * v + 1]!;
    const m = lin[slot]!;
    for (let y = gy * P; y < (gy + 1) * P; y++) {
      for (let x = gx * P; x < (gx + 1) * P; x++) {
        const dx = x + 0.5 - cx;
        const dy = y + 0.5 - cy;
        sampleBilinear(refs[slot]!, qx + m[0] * dx + m[1] * dy, qy + m[3] * dx + m[4] * dy, col);
        const p = y * W + x;
        data[3 * p] = Math.round(col[0]!);
        data[3 * p + 1] = Math.round(col[1]!);
        data[3 * p + 2] = Math.round(col[2]!);
        predicted[p] = slot + 1;
      }
    }
  }
  return { image: { width: W, height: H, channels: 3, data }, predicted };
}
