import { Tensor } from 'tessera/kernels';
import type { MaskedImage } from './subjectMask.ts';

/**
 * The reconstruction loss's pixel weights: Σ w·(y − x)² / Σ w over pixels and channels
 * (kernels' weightedMSE), with w = `subject` on subject pixels and `background` elsewhere.
 * { subject: 1, background: 1 } is the plain MSE.
 */
export interface LossWeights {
  readonly subject: number;
  readonly background: number;
}

export const PLAIN_LOSS: LossWeights = { subject: 1, background: 1 };

/** Throws a RangeError unless both weights are finite, ≥ 0 and not both 0. */
export function checkLossWeights(w: LossWeights): void {
  const ok = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  if (!ok(w.subject) || !ok(w.background) || w.subject + w.background === 0) {
    throw new RangeError(`latent: loss weights must be finite and ≥ 0, not both 0; got subject ${String(w.subject)}, background ${String(w.background)}`);
  }
}

/** [B, 1, H, W] weights of a batch (w), and its subject masks as 0/1 (m, for the subject-pixel error). */
export function pixelWeights(items: readonly MaskedImage[], weights: LossWeights): { w: Tensor; m: Tensor } {
  const { width: W, height: H } = items[0]!.image;
  const plane = W * H;
  const w = new Float32Array(items.length * plane);
  const m = new Float32Array(items.length * plane);
  items.forEach((it, b) => {
    for (let p = 0; p < plane; p++) {
      const s = it.mask[p]!;
      w[b * plane + p] = s ? weights.subject : weights.background;
      m[b * plane + p] = s;
    }
  });
  return { w: new Tensor('float32', [items.length, 1, H, W], w), m: new Tensor('float32', [items.length, 1, H, W], m) };
}

/**
 * The loss in plain float64 TypeScript (tests check the traced program against it): y and x
 * [B, 3, H, W], w [B, 1, H, W], all row-major.
 */
export function weightedLossReference(y: ArrayLike<number>, x: ArrayLike<number>, w: ArrayLike<number>, shape: readonly number[]): number {
  const [B, C, H, W] = shape as number[];
  const plane = H! * W!;
  let num = 0;
  let den = 0;
  for (let b = 0; b < B!; b++) {
    for (let c = 0; c < C!; c++) {
      for (let p = 0; p < plane; p++) {
        const d = y[(b * C! + c) * plane + p]! - x[(b * C! + c) * plane + p]!;
        const wt = w[b * plane + p]!;
        num += wt * d * d;
        den += wt;
      }
    }
  }
  return num / den;
}

/** PSNR (dB) of a mean squared error measured on [-1, 1] pixels (peak-to-peak 2 ↔ 255). */
export const psnrOfMse = (mse: number): number => 10 * Math.log10(4 / mse);
