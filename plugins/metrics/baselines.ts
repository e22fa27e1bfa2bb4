import type { ImageValue } from 'tessera';
import { type AttentionMaps, type SemAlignSample, warpReference } from 'tessera/semalign';
import { silhouette } from './silhouette.ts';

/**
 * Model-free baselines, scored by the same metric code on the same samples as a model. Each uses
 * only what a model is given — the boxes (annotation.subjects[k].box) and the references — except
 * the pose oracle, which also uses the ground-truth reference→target transform and is a ceiling.
 * Definitions: docs/metrics.md.
 */

/** Baseline names, in report order. */
export const BASELINES = ['upright-paste', 'oracle-paste', 'mean-fill'] as const;
export type BaselineName = (typeof BASELINES)[number];

/** Which baselines see ground truth beyond the model's inputs (report them as such). */
export const BASELINE_LABELS: Readonly<Record<BaselineName, string>> = {
  'upright-paste': 'upright paste (model-free)',
  'oracle-paste': 'pose-oracle paste (ceiling: uses the ground-truth pose)',
  'mean-fill': 'mean-colour fill (model-free)',
};

/**
 * Background of every baseline canvas: a constant grey. The background is not among a model's
 * inputs; it enters only the background and whole-image metrics, never the subject ones.
 */
export const BASELINE_BACKGROUND = 128;

type Affine = readonly [number, number, number, number, number, number];

/** The reference square [0, R)² mapped onto the subject's box, upright (no rotation, no mirror). */
export function uprightAffine(sample: SemAlignSample, slot: number): Affine {
  const [x, y, w, h] = sample.annotation.subjects[slot]!.box;
  const ref = sample.refs[slot]!;
  return [w / ref.width, 0, x, 0, h / ref.height, y];
}

/** Integer pixel bounds [x0, y0, x1, y1) covering a box, clipped to the image. */
function boxBounds(box: readonly number[], W: number, H: number): [number, number, number, number] {
  return [Math.max(0, Math.floor(box[0]!)), Math.max(0, Math.floor(box[1]!)), Math.min(W, Math.ceil(box[0]! + box[2]!)), Math.min(H, Math.ceil(box[1]! + box[3]!))];
}

function blank(sample: SemAlignSample): ImageValue {
  const { width, height } = sample.target;
  return { width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(BASELINE_BACKGROUND) };
}

/**
 * Pastes every reference into the canvas through its affine map (slot order, later over
 * earlier): target pixels inside the subject's box where the warped reference shows its
 * subject (warped silhouette ≥ ½) take the warped reference's colour.
 */
export function pasteReferences(sample: SemAlignSample, affines: readonly Affine[]): ImageValue {
  const out = blank(sample);
  const { width: W, height: H } = out;
  const all = new Uint8Array(W * H).fill(1);
  sample.annotation.subjects.forEach((s, slot) => {
    const bounds = boxBounds(s.box, W, H);
    const ref = sample.refs[slot]!;
    const img = warpReference(ref, affines[slot]!, W, H, all, bounds);
    const sil = warpReference(silhouette(ref), affines[slot]!, W, H, all, bounds);
    for (let y = bounds[1]; y < bounds[3]; y++) {
      for (let x = bounds[0]; x < bounds[2]; x++) {
        const p = y * W + x;
        if (sil.data[3 * p]! < 128) continue;
        for (let c = 0; c < 3; c++) out.data[3 * p + c] = img.data[3 * p + c]!;
      }
    }
  });
  return out;
}

/** (a) Each reference pasted upright, its square resized to the box. */
export const uprightPaste = (sample: SemAlignSample): ImageValue => pasteReferences(sample, sample.refs.map((_, k) => uprightAffine(sample, k)));

/** (b) Ceiling: each reference warped by its ground-truth reference→target transform. */
export const oraclePaste = (sample: SemAlignSample): ImageValue => pasteReferences(sample, sample.annotation.subjects.map((s) => s.refToTarget));

/** Mean colour of a reference's subject (its non-white pixels); white for an empty reference. */
export function meanSubjectColour(ref: ImageValue): [number, number, number] {
  const ch = ref.channels;
  const sum = [0, 0, 0];
  let n = 0;
  for (let p = 0; p < ref.width * ref.height; p++) {
    const o = ch * p;
    if (ref.data[o] === 255 && ref.data[o + 1] === 255 && ref.data[o + 2] === 255) continue;
    for (let c = 0; c < 3; c++) sum[c]! += ref.data[o + c]!;
    n++;
  }
  return n ? [Math.round(sum[0]! / n), Math.round(sum[1]! / n), Math.round(sum[2]! / n)] : [255, 255, 255];
}

/** (c) Each box (pixels whose centre lies inside it) filled with its reference's mean subject colour. */
export function meanColourFill(sample: SemAlignSample): ImageValue {
  const out = blank(sample);
  const { width: W, height: H } = out;
  sample.annotation.subjects.forEach((s, slot) => {
    const colour = meanSubjectColour(sample.refs[slot]!);
    const [bx, by, bw, bh] = s.box;
    const [x0, y0, x1, y1] = boxBounds(s.box, W, H);
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        if (x + 0.5 < bx || x + 0.5 > bx + bw || y + 0.5 < by || y + 0.5 > by + bh) continue;
        for (let c = 0; c < 3; c++) out.data[3 * (y * W + x) + c] = colour[c]!;
      }
    }
  });
  return out;
}

/** The image of one baseline. */
export function baselineImage(sample: SemAlignSample, name: BaselineName): ImageValue {
  switch (name) {
    case 'upright-paste':
      return uprightPaste(sample);
    case 'oracle-paste':
      return oraclePaste(sample);
    case 'mean-fill':
      return meanColourFill(sample);
  }
}

/**
 * The correspondence a paste implies, as attention maps: each reference patch's row is one-hot at
 * the target patch containing the image of its centre under the slot's affine (clamped to the
 * grid). Rows are concatenated references in slot order, as the model's.
 */
export function affineAttention(sample: SemAlignSample, affines: readonly Affine[]): AttentionMaps {
  const c = sample.annotation.correspondence;
  const [rw, rh] = c.refGrid;
  const [gw, gh] = c.targetGrid;
  const nr = rw * rh;
  const nt = gw * gh;
  const k = sample.annotation.k;
  const data = new Float32Array(k * nr * nt);
  for (let slot = 0; slot < k; slot++) {
    const m = affines[slot]!;
    for (let u = 0; u < nr; u++) {
      const x = ((u % rw) + 0.5) * c.refPatchSize;
      const y = (Math.floor(u / rw) + 0.5) * c.refPatchSize;
      const tx = Math.min(gw - 1, Math.max(0, Math.floor((m[0] * x + m[1] * y + m[2]) / c.patchSize)));
      const ty = Math.min(gh - 1, Math.max(0, Math.floor((m[3] * x + m[4] * y + m[5]) / c.patchSize)));
      data[(slot * nr + u) * nt + ty * gw + tx] = 1;
    }
  }
  return { shape: [k * nr, nt], data };
}

/** The attention a baseline implies (null for the fill, which has no correspondence). */
export function baselineAttention(sample: SemAlignSample, name: BaselineName): AttentionMaps | null {
  if (name === 'upright-paste') return affineAttention(sample, sample.refs.map((_, k) => uprightAffine(sample, k)));
  if (name === 'oracle-paste') return affineAttention(sample, sample.annotation.subjects.map((s) => s.refToTarget));
  return null;
}

/** Chance attention for PCK, built from the boxes alone. */
export type ChanceAttention = 'box-uniform' | 'box-centre';
export const CHANCE_ATTENTION: readonly ChanceAttention[] = ['box-uniform', 'box-centre'];

/**
 * Box-only attention: every row of slot k uniform over the target patches whose centre lies in
 * box k ('box-uniform'; PCK counts ties as a uniform draw, so this is the expected PCK of a random
 * patch in the box), or one-hot at the patch containing the box centre ('box-centre').
 */
export function boxAttention(sample: SemAlignSample, mode: ChanceAttention): AttentionMaps {
  const c = sample.annotation.correspondence;
  const nr = c.refGrid[0] * c.refGrid[1];
  const [gw, gh] = c.targetGrid;
  const nt = gw * gh;
  const P = c.patchSize;
  const k = sample.annotation.k;
  const data = new Float32Array(k * nr * nt);
  for (let slot = 0; slot < k; slot++) {
    const [bx, by, bw, bh] = sample.annotation.subjects[slot]!.box;
    const row = new Float32Array(nt);
    if (mode === 'box-centre') {
      const tx = Math.min(gw - 1, Math.max(0, Math.floor((bx + bw / 2) / P)));
      const ty = Math.min(gh - 1, Math.max(0, Math.floor((by + bh / 2) / P)));
      row[ty * gw + tx] = 1;
    } else {
      let n = 0;
      for (let t = 0; t < nt; t++) {
        const cx = ((t % gw) + 0.5) * P;
        const cy = (Math.floor(t / gw) + 0.5) * P;
        if (cx >= bx && cx <= bx + bw && cy >= by && cy <= by + bh) {
          row[t] = 1;
          n++;
        }
      }
      // A box smaller than a patch holds no patch centre: its centre patch stands in.
      if (n === 0) row[Math.min(gh - 1, Math.max(0, Math.floor((by + bh / 2) / P))) * gw + Math.min(gw - 1, Math.max(0, Math.floor((bx + bw / 2) / P)))] = 1;
      else for (let t = 0; t < nt; t++) row[t]! /= n;
    }
    for (let u = 0; u < nr; u++) data.set(row, (slot * nr + u) * nt);
  }
  return { shape: [k * nr, nt], data };
}
