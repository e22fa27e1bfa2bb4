import type { ImageValue } from 'tessera';
import type { Prng } from './prng.ts';
import { type Affine, type Pose, invert, subjectToImage } from './geometry.ts';
import type { Rgb } from './identity.ts';
import { SUBJECT_RADIUS, type SubjectShader } from './subject.ts';

/** Procedural background: a two-color gradient plus soft value noise. Stored in annotations. */
export interface Background {
  readonly colors: readonly [Rgb, Rgb];
  readonly angleDeg: number;
  readonly noiseSeed: number;
  readonly noiseAmp: number;
  /** Noise lattice spacing in pixels. */
  readonly noiseScale: number;
}

/** Samples a muted background (low saturation, mid-high lightness) so subjects stand out. */
export function sampleBackground(rng: Prng, size: number): Background {
  const col = (): Rgb => {
    const base = 150 + rng.int(80);
    return [base + rng.int(40) - 20, base + rng.int(40) - 20, base + rng.int(40) - 20].map((v) =>
      Math.max(0, Math.min(255, v)),
    ) as unknown as Rgb;
  };
  return {
    colors: [col(), col()],
    angleDeg: rng.int(360),
    noiseSeed: rng.uint32(),
    noiseAmp: 6 + rng.int(14),
    noiseScale: Math.max(4, Math.round(size / (3 + rng.int(4)))),
  };
}

function lattice(ix: number, iy: number, seed: number): number {
  let h = Math.imul(ix, 0x27d4eb2d) ^ Math.imul(iy, 0x165667b1) ^ seed;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296 - 0.5;
}

/** Renders the background alone (RGB, one sample per pixel centre: it is smooth, no AA needed). */
export function renderBackground(bg: Background, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  const t = (bg.angleDeg * Math.PI) / 180;
  const ct = Math.cos(t);
  const st = Math.sin(t);
  const [a, b] = bg.colors;
  const seed = bg.noiseSeed | 0;
  // Lattice values once per node, not four hashes per pixel.
  const lw = Math.floor(width / bg.noiseScale) + 2;
  const lh = Math.floor(height / bg.noiseScale) + 2;
  const lat = new Float64Array(lw * lh);
  for (let iy = 0; iy < lh; iy++) for (let ix = 0; ix < lw; ix++) lat[iy * lw + ix] = lattice(ix, iy, seed);
  // Per-column and per-row terms once (the same floating-point operations as per pixel, so the
  // bytes are unchanged).
  const gxT = new Float64Array(width);
  const colIx = new Int32Array(width);
  const colFx = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const px = x + 0.5;
    gxT[x] = (px / width - 0.5) * ct;
    const gx = px / bg.noiseScale;
    colIx[x] = Math.floor(gx);
    colFx[x] = gx - colIx[x]!;
  }
  const a0 = a[0]!;
  const a1 = a[1]!;
  const a2 = a[2]!;
  const d0 = b[0]! - a0;
  const d1 = b[1]! - a1;
  const d2 = b[2]! - a2;
  const amp2 = 2 * bg.noiseAmp;
  const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
  for (let y = 0; y < height; y++) {
    const py = y + 0.5;
    const gyT = (py / height - 0.5) * st;
    const gy = py / bg.noiseScale;
    const iy = Math.floor(gy);
    const fy = gy - iy;
    let o = y * width * 3;
    for (let x = 0; x < width; x++, o += 3) {
      const g = Math.min(1, Math.max(0, 0.5 + (gxT[x]! + gyT)));
      const fx = colFx[x]!;
      const l0 = iy * lw + colIx[x]!;
      const l1 = l0 + lw;
      const n0 = lat[l0]! + (lat[l0 + 1]! - lat[l0]!) * fx;
      const n1 = lat[l1]! + (lat[l1 + 1]! - lat[l1]!) * fx;
      const n = (n0 + (n1 - n0) * fy) * amp2;
      out[o] = clamp(Math.round(a0 + d0 * g + n));
      out[o + 1] = clamp(Math.round(a1 + d1 * g + n));
      out[o + 2] = clamp(Math.round(a2 + d2 * g + n));
    }
  }
  return out;
}

/** A subject to draw: its shader and the pose mapping subject space into the image. */
export interface Drawn {
  readonly shader: SubjectShader;
  readonly pose: Pose;
}

/** Rotated-grid 4× supersampling offsets within a pixel. */
export const SUBSAMPLES = [0.375, 0.125, 0.875, 0.375, 0.125, 0.625, 0.625, 0.875] as const;

/** Sub-samples a pixel must have on a subject for the label map to give it to that subject. */
export const LABEL_MIN_SAMPLES = 2;

interface Prepared {
  readonly shader: SubjectShader;
  readonly inv: Affine;
  readonly cx: number;
  readonly cy: number;
  /** Squared pixel radii: beyond `far2` no sub-sample can hit; within `near2` all do. */
  readonly far2: number;
  readonly near2: number;
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

function prepare(d: Drawn, width: number, height: number): Prepared {
  const r = d.pose.half * SUBJECT_RADIUS;
  // A pixel's sub-samples lie within √2/2 px of its centre.
  const far = r + Math.SQRT1_2;
  const near = Math.max(0, d.shader.innerRadius * d.pose.half - Math.SQRT1_2);
  return {
    shader: d.shader,
    inv: invert(subjectToImage(d.pose)),
    cx: d.pose.cx,
    cy: d.pose.cy,
    far2: far * far,
    near2: near * near,
    x0: Math.max(0, Math.floor(d.pose.cx - r)),
    y0: Math.max(0, Math.floor(d.pose.cy - r)),
    x1: Math.min(width, Math.ceil(d.pose.cx + r)),
    y1: Math.min(height, Math.ceil(d.pose.cy + r)),
  };
}

/**
 * Draws subjects over `base` (RGB) in place, anti-aliased with 4 sub-samples per pixel. Where
 * subjects overlap, earlier entries of `subjects` are in front (order = front to back). Each
 * pixel is computed from scratch from the base and every subject touching it, so re-drawing a
 * region with one subject changed (a DIP loser) yields byte-identical pixels everywhere else.
 * `label` (optional) receives slot+1 where at least LABEL_MIN_SAMPLES sub-samples hit slot.
 * `region` `[x0, y0, x1, y1)` limits the work; `base` must hold the background there.
 */
export function drawSubjects(
  base: Uint8Array,
  width: number,
  height: number,
  subjects: readonly Drawn[],
  label?: Uint8Array,
  region?: readonly [number, number, number, number],
  background?: Uint8Array,
): void {
  const prepared = subjects.map((d) => prepare(d, width, height));
  const n = prepared.length;
  // Overlapping disks (the generator's overlap option): the front-most subject (earliest in
  // `subjects`) takes a sub-sample, so a wholly covering ("interior") later subject no longer
  // lets the search skip the ones before it. Disjoint scenes keep the fast path unchanged.
  let overlapping = false;
  for (let i = 0; i < n && !overlapping; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = subjects[i]!.pose;
      const b = subjects[j]!.pose;
      const reach = (a.half + b.half) * SUBJECT_RADIUS;
      if ((a.cx - b.cx) ** 2 + (a.cy - b.cy) ** 2 < reach * reach) {
        overlapping = true;
        break;
      }
    }
  }
  const bgSrc = background ?? base;
  const [rx0, ry0, rx1, ry1] = region ?? [0, 0, width, height];
  const col = new Float64Array(3);
  const active = new Int32Array(n);
  const cand = new Int32Array(n);
  const hits = new Int32Array(n);
  const shaders = prepared.map((p) => p.shader);
  const inv = new Float64Array(6 * n);
  for (let i = 0; i < n; i++) inv.set(prepared[i]!.inv, 6 * i);
  for (let y = ry0; y < ry1; y++) {
    let nActive = 0;
    const dy0 = y + 0.5;
    // Only the pixels of this row that some subject's disk can reach: the hull of the disks'
    // chords (pixels outside keep the background, which base already holds there).
    let xa = rx1;
    let xb = rx0;
    for (let i = 0; i < n; i++) {
      const p = prepared[i]!;
      if (y < p.y0 || y >= p.y1) continue;
      const dy = Math.max(0, Math.abs(dy0 - p.cy) - 0.5);
      const half = p.far2 - dy * dy;
      if (half < 0) continue;
      const w = Math.sqrt(half);
      xa = Math.min(xa, Math.max(p.x0, Math.floor(p.cx - w - 0.5)));
      xb = Math.max(xb, Math.min(p.x1, Math.ceil(p.cx + w + 0.5)));
      active[nActive++] = i;
    }
    if (nActive === 0) continue;
    for (let x = Math.max(rx0, xa); x < Math.min(rx1, xb); x++) {
      const o = (y * width + x) * 3;
      // Candidates: subjects whose disk can reach this pixel; `interior` one covers it wholly.
      let nc = 0;
      let interior = -1;
      for (let j = 0; j < nActive; j++) {
        const i = active[j]!;
        const p = prepared[i]!;
        if (x < p.x0 || x >= p.x1) continue;
        const dx = x + 0.5 - p.cx;
        const dy = dy0 - p.cy;
        const d2 = dx * dx + dy * dy;
        if (d2 > p.far2) continue;
        if (d2 < p.near2) interior = nc;
        hits[nc] = 0;
        cand[nc++] = i;
      }
      if (nc === 0) {
        if (label) label[y * width + x] = 0;
        if (bgSrc !== base) {
          base[o] = bgSrc[o]!;
          base[o + 1] = bgSrc[o + 1]!;
          base[o + 2] = bgSrc[o + 2]!;
        }
        continue;
      }
      let r = 0;
      let g = 0;
      let b = 0;
      let covered = 0;
      if (nc === 1) {
        // One candidate (most pixels): the loop below without the candidate bookkeeping, same
        // arithmetic in the same order.
        const i = cand[0]!;
        const m = 6 * i;
        const m0 = inv[m]!;
        const m1 = inv[m + 1]!;
        const m2 = inv[m + 2]!;
        const m3 = inv[m + 3]!;
        const m4 = inv[m + 4]!;
        const m5 = inv[m + 5]!;
        const sh = shaders[i]!;
        const all = interior === 0;
        for (let s = 0; s < 8; s += 2) {
          const px = x + SUBSAMPLES[s]!;
          const py = y + SUBSAMPLES[s + 1]!;
          const u = m0 * px + m1 * py + m2;
          const v = m3 * px + m4 * py + m5;
          if (!all && !sh.inside(u, v)) continue;
          sh.colorAt(u, v, col, 0);
          r += col[0]!;
          g += col[1]!;
          b += col[2]!;
          covered++;
        }
        if (label) label[y * width + x] = covered >= LABEL_MIN_SAMPLES ? i + 1 : 0;
        const rest = 4 - covered;
        base[o] = Math.round((r + rest * bgSrc[o]!) / 4);
        base[o + 1] = Math.round((g + rest * bgSrc[o + 1]!) / 4);
        base[o + 2] = Math.round((b + rest * bgSrc[o + 2]!) / 4);
        continue;
      }
      for (let s = 0; s < 8; s += 2) {
        const px = x + SUBSAMPLES[s]!;
        const py = y + SUBSAMPLES[s + 1]!;
        for (let c = interior >= 0 && !overlapping ? interior : 0; c < nc; c++) {
          const i = cand[c]!;
          const m = 6 * i;
          const u = inv[m]! * px + inv[m + 1]! * py + inv[m + 2]!;
          const v = inv[m + 3]! * px + inv[m + 4]! * py + inv[m + 5]!;
          const sh = shaders[i]!;
          if (c !== interior && !sh.inside(u, v)) continue;
          sh.colorAt(u, v, col, 0);
          r += col[0]!;
          g += col[1]!;
          b += col[2]!;
          covered++;
          hits[c]!++;
          break; // disjoint: at most one subject contains it; overlapping: the front-most shows
        }
      }
      if (label) {
        // Most hits wins; a tie goes to the front-most subject when subjects overlap, to the
        // later one otherwise (as it always did, so disjoint label maps are unchanged).
        let owner = 0;
        let best = LABEL_MIN_SAMPLES - 1;
        for (let c = 0; c < nc; c++) {
          const h = hits[c]!;
          if (h > best || (h === best && h >= LABEL_MIN_SAMPLES && !overlapping)) {
            best = h;
            owner = cand[c]! + 1;
          }
        }
        label[y * width + x] = owner;
      }
      const rest = 4 - covered;
      base[o] = Math.round((r + rest * bgSrc[o]!) / 4);
      base[o + 1] = Math.round((g + rest * bgSrc[o + 1]!) / 4);
      base[o + 2] = Math.round((b + rest * bgSrc[o + 2]!) / 4);
    }
  }
}

/** Pixel bounds `[x0, y0, x1)` that a pose can touch. */
export function poseBounds(pose: Pose, width: number, height: number): [number, number, number, number] {
  const r = pose.half * SUBJECT_RADIUS;
  return [
    Math.max(0, Math.floor(pose.cx - r)),
    Math.max(0, Math.floor(pose.cy - r)),
    Math.min(width, Math.ceil(pose.cx + r)),
    Math.min(height, Math.ceil(pose.cy + r)),
  ];
}

/** Renders a reference: the subject alone on white, plus its coverage mask (1 = subject). */
export function renderReference(shader: SubjectShader, pose: Pose, size: number): { image: ImageValue; mask: Uint8Array } {
  const data = new Uint8Array(size * size * 3).fill(255);
  const mask = new Uint8Array(size * size);
  drawSubjects(data, size, size, [{ shader, pose }], mask);
  return { image: { width: size, height: size, channels: 3, data }, mask };
}
