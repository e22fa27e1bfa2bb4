import type { ImageValue } from 'tessera';

/**
 * A fixed, learning-free identity descriptor of an image region:
 *  - color: 6×6×6 RGB histogram with trilinear soft binning (216 values, sum 1);
 *  - orientation: 8-bin histogram of luminance-gradient orientation (mod π), magnitude
 *    weighted, measured in the subject's canonical frame (the known pose is undone);
 *  - frequency: 6-bin soft histogram of edge density per subject radius (log scale).
 * Blocks are weighted by {@link DESCRIPTOR_WEIGHTS} before cosine comparison.
 */
export interface Descriptor {
  readonly color: Float64Array;
  readonly orientation: Float64Array;
  readonly frequency: Float64Array;
  /** Pixels in the region. */
  readonly pixels: number;
}

/** Block weights in the cosine: color dominates; texture separates same-palette subjects. */
export const DESCRIPTOR_WEIGHTS = { color: 1, orientation: 0.5, frequency: 0.5 } as const;

/** The part of a pose the descriptor needs: rotation (deg), mirror, and pixels per subject unit. */
export interface DescriptorPose {
  readonly rotationDeg: number;
  readonly flip: boolean;
  readonly half: number;
}

const COLOR_BINS = 6;
const ORI_BINS = 8;
const FREQ_BINS = 6;
/** Luminance-gradient magnitude (central differences, 0..255 scale) that counts as an edge. */
const EDGE_THRESHOLD = 24;

function lum(d: Uint8Array, o: number, ch: number): number {
  return ch === 1 ? d[o]! : 0.299 * d[o]! + 0.587 * d[o + 1]! + 0.114 * d[o + 2]!;
}

/** Pixel bounds `[x0, y0, x1, y1)`. */
export type Bounds = readonly [number, number, number, number];

/**
 * Describes the pixels of `img` where `mask[p]` is non-zero (within `bounds`, default all).
 * Gradients use only pixels whose four neighbours are in the region, so the silhouette's own
 * edge does not count as texture.
 */
export function describeRegion(img: ImageValue, mask: Uint8Array, pose: DescriptorPose, bounds?: Bounds): Descriptor {
  const { width: W, height: H, channels: ch, data } = img;
  const [bx0, by0, bx1, by1] = bounds ?? [0, 0, W, H];
  const color = new Float64Array(COLOR_BINS ** 3);
  const orientation = new Float64Array(ORI_BINS);
  const frequency = new Float64Array(FREQ_BINS);
  let pixels = 0;
  let interior = 0;
  let edges = 0;
  const rot = (pose.rotationDeg * Math.PI) / 180;
  const s = (COLOR_BINS - 1) / 255;
  for (let y = by0; y < by1; y++) {
    for (let x = bx0; x < bx1; x++) {
      const p = y * W + x;
      if (mask[p] === 0) continue;
      pixels++;
      const o = p * ch;
      // Trilinear soft binning: a color near a bin edge splits its weight, so tiny shifts
      // (anti-aliasing, resampling) move the histogram only a little.
      const r = data[o]! * s;
      const g = (ch === 1 ? data[o]! : data[o + 1]!) * s;
      const b = (ch === 1 ? data[o]! : data[o + 2]!) * s;
      const r0 = Math.min(COLOR_BINS - 2, Math.floor(r));
      const g0 = Math.min(COLOR_BINS - 2, Math.floor(g));
      const b0 = Math.min(COLOR_BINS - 2, Math.floor(b));
      const fr = r - r0;
      const fg = g - g0;
      const fb = b - b0;
      for (let i = 0; i < 8; i++) {
        const wr = i & 1 ? fr : 1 - fr;
        const wg = i & 2 ? fg : 1 - fg;
        const wb = i & 4 ? fb : 1 - fb;
        color[(r0 + (i & 1)) * COLOR_BINS * COLOR_BINS + (g0 + ((i >> 1) & 1)) * COLOR_BINS + (b0 + ((i >> 2) & 1))]! += wr * wg * wb;
      }
      if (x === 0 || y === 0 || x === W - 1 || y === H - 1) continue;
      if (mask[p - 1] === 0 || mask[p + 1] === 0 || mask[p - W] === 0 || mask[p + W] === 0) continue;
      interior++;
      const gx = (lum(data, o + ch, ch) - lum(data, o - ch, ch)) / 2;
      const gy = (lum(data, o + W * ch, ch) - lum(data, o - W * ch, ch)) / 2;
      const mag = Math.hypot(gx, gy);
      if (mag < 1e-6) continue;
      if (mag > EDGE_THRESHOLD) edges++;
      // Undo the pose: φ_t = θ + φ_s (or θ + π − φ_s when mirrored), orientations mod π.
      let phi = Math.atan2(gy, gx) - rot;
      if (pose.flip) phi = Math.PI - phi;
      phi = ((phi % Math.PI) + Math.PI) % Math.PI;
      const t = (phi / Math.PI) * ORI_BINS - 0.5;
      const i0 = Math.floor(t);
      const f = t - i0;
      orientation[(i0 + ORI_BINS) % ORI_BINS]! += mag * (1 - f);
      orientation[(i0 + 1) % ORI_BINS]! += mag * f;
    }
  }
  // Edge density per subject radius: edges/pixel × pixels/unit, a scale-free frequency.
  const density = interior > 0 ? (edges / interior) * pose.half : 0;
  const t = Math.min(FREQ_BINS - 1, Math.max(0, Math.log2(1 + density) * 1.5));
  const i0 = Math.min(FREQ_BINS - 2, Math.floor(t));
  frequency[i0] = 1 - (t - i0);
  frequency[i0 + 1] = t - i0;
  normalize1(color);
  normalize1(orientation);
  return { color, orientation, frequency, pixels };
}

function normalize1(v: Float64Array): void {
  let s = 0;
  for (const x of v) s += x;
  if (s > 0) for (let i = 0; i < v.length; i++) v[i]! /= s;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function cos(a: Float64Array, b: Float64Array): number {
  const d = Math.sqrt(dot(a, a) * dot(b, b));
  return d > 0 ? dot(a, b) / d : 0;
}

/**
 * Weighted cosine similarity: each block is compared by its own cosine (so a 64-bin block and a
 * 6-bin block count by their weights, not by their sizes), then blocks are averaged with the
 * squared weights. 0 when either region is empty.
 */
export function descriptorCosine(a: Descriptor, b: Descriptor): number {
  if (a.pixels === 0 || b.pixels === 0) return 0;
  const w = DESCRIPTOR_WEIGHTS;
  const wc = w.color ** 2;
  const wo = w.orientation ** 2;
  const wf = w.frequency ** 2;
  return (wc * cos(a.color, b.color) + wo * cos(a.orientation, b.orientation) + wf * cos(a.frequency, b.frequency)) / (wc + wo + wf);
}

/** Texture-only similarity: the orientation and frequency blocks of {@link descriptorCosine}. */
export function textureCosine(a: Descriptor, b: Descriptor): number {
  if (a.pixels === 0 || b.pixels === 0) return 0;
  const wo = DESCRIPTOR_WEIGHTS.orientation ** 2;
  const wf = DESCRIPTOR_WEIGHTS.frequency ** 2;
  return (wo * cos(a.orientation, b.orientation) + wf * cos(a.frequency, b.frequency)) / (wo + wf);
}
