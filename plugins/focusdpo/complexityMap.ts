import type { ImageValue } from 'tessera';

/** Options of {@link complexityMap}. */
export interface ComplexityOptions {
  /** Patch side in pixels (the model's patch). */
  readonly patch: number;
  /** Standard deviation of the Gaussian window in pixels. */
  readonly sigma: number;
  /** Variance floor ε inside the log (a flat region has entropy ½·log(2πe·ε), not −∞). */
  readonly eps?: number;
}

/** Default variance floor: about the variance of 8-bit quantisation noise times 6 (our choice). */
export const COMPLEXITY_EPS = 1e-4;

/** Luminance in [0, 1] (Rec. 601 weights; a one-channel image is used as it is). */
export function luminance(img: ImageValue): Float64Array {
  const { width: W, height: H, channels: C, data } = img;
  const y = new Float64Array(W * H);
  for (let i = 0; i < W * H; i++) y[i] = C === 1 ? data[i]! / 255 : (0.299 * data[i * C]! + 0.587 * data[i * C + 1]! + 0.114 * data[i * C + 2]!) / 255;
  return y;
}

/** A normalised 1-D Gaussian of radius ⌈3σ⌉. */
function gaussian1d(sigma: number): Float64Array {
  const r = Math.ceil(3 * sigma);
  const k = new Float64Array(2 * r + 1);
  for (let i = -r; i <= r; i++) k[i + r] = Math.exp((-i * i) / (2 * sigma * sigma));
  return k;
}

/** Separable Gaussian blur; at the borders the weights are renormalised over the pixels inside the image. */
function blur(x: Float64Array, W: number, H: number, k: Float64Array): Float64Array {
  const r = (k.length - 1) / 2;
  const tmp = new Float64Array(W * H);
  const out = new Float64Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let xx = 0; xx < W; xx++) {
      let s = 0;
      let z = 0;
      for (let d = -r; d <= r; d++) {
        const q = xx + d;
        if (q < 0 || q >= W) continue;
        s += k[d + r]! * x[y * W + q]!;
        z += k[d + r]!;
      }
      tmp[y * W + xx] = s / z;
    }
  }
  for (let y = 0; y < H; y++) {
    for (let xx = 0; xx < W; xx++) {
      let s = 0;
      let z = 0;
      for (let d = -r; d <= r; d++) {
        const q = y + d;
        if (q < 0 || q >= H) continue;
        s += k[d + r]! * tmp[q * W + xx]!;
        z += k[d + r]!;
      }
      out[y * W + xx] = s / z;
    }
  }
  return out;
}

/**
 * Per-pixel Gaussian differential entropy of the local luminance: σ²_loc = G_σ∗Y² − (G_σ∗Y)²
 * (Gaussian-weighted local variance, clamped at 0), h = ½·log(2πe·(σ²_loc + ε)).
 */
export function entropyImage(img: ImageValue, sigma: number, eps = COMPLEXITY_EPS): Float64Array {
  if (!(sigma > 0)) throw new RangeError(`complexity map: sigma must be > 0, got ${sigma}`);
  const W = img.width;
  const H = img.height;
  const y = luminance(img);
  const k = gaussian1d(sigma);
  const mu = blur(y, W, H, k);
  const m2 = blur(Float64Array.from(y, (v) => v * v), W, H, k);
  const h = new Float64Array(W * H);
  for (let i = 0; i < h.length; i++) h[i] = 0.5 * Math.log(2 * Math.PI * Math.E * (Math.max(m2[i]! - mu[i]! * mu[i]!, 0) + eps));
  return h;
}

/**
 * FocusDPO-like image complexity M_complexity (docs/focusdpo.md): the mean of the per-pixel
 * entropy over each patch (row-major patch order), min–max normalised to [0, 1] per image
 * (all zeros when the image is flat), so λ weighs it on the scale of the correspondence term.
 */
export function complexityMap(img: ImageValue, o: ComplexityOptions): Float64Array {
  const { width: W, height: H } = img;
  if (W % o.patch || H % o.patch) throw new RangeError(`complexity map: patch ${o.patch} must divide the image size ${W}×${H}`);
  const h = entropyImage(img, o.sigma, o.eps);
  const gw = W / o.patch;
  const gh = H / o.patch;
  const m = new Float64Array(gw * gh);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) m[Math.floor(y / o.patch) * gw + Math.floor(x / o.patch)]! += h[y * W + x]! / (o.patch * o.patch);
  return minMax(m);
}

/** Min–max normalisation to [0, 1]; a constant vector maps to zeros. */
export function minMax(m: Float64Array): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of m) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = hi - lo;
  return Float64Array.from(m, (v) => (span > 1e-12 ? (v - lo) / span : 0));
}

/** Share of changed pixels (mask value > 127) in each patch: the prior mask M_prior per patch. */
export function maskToPatches(mask: ImageValue, patch: number): Float64Array {
  const { width: W, height: H, channels: C, data } = mask;
  if (W % patch || H % patch) throw new RangeError(`prior mask: patch ${patch} must divide the mask size ${W}×${H}`);
  const gw = W / patch;
  const out = new Float64Array(gw * (H / patch));
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (data[(y * W + x) * C]! > 127) out[Math.floor(y / patch) * gw + Math.floor(x / patch)]! += 1 / (patch * patch);
  return out;
}
