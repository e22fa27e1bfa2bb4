import type { ImageValue } from 'tessera';
import { type AttentionMaps, type SemAlignSample, warpReference } from 'tessera/semalign';
import { silhouette } from './silhouette.ts';
import { type Bounds, type Descriptor, descriptorCosine, describeRegion, textureCosine } from './descriptor.ts';
import { addSums, edgeCorrOf, ssimOf, type StructureSums, structureSums } from './structure.ts';

/** PSNR reported when two regions are identical (JSON has no Infinity). */
export const PSNR_CAP = 100;
/** A color bin "belongs" to a reference when it holds at least this much of its histogram. */
export const LEAK_BIN_MASS = 0.02;

/** Metrics of one subject in one sample. */
export interface SubjectMetrics {
  readonly slot: number;
  readonly identity: number;
  /** Ground-truth region size (label-map pixels). */
  readonly pixels: number;
  /** Masked PSNR (dB) of generated vs ground-truth pixels inside the region. */
  readonly psnr: number | null;
  /** Descriptor cosine of generated vs ground-truth region. */
  readonly descriptorCos: number | null;
  /** Slot of the nearest reference (descriptor cosine), −1 when the region is empty. */
  readonly predicted: number;
  readonly correct: boolean | null;
  /** |C_k|: references scored for this subject after the candidate filter (0 when not retrieved). */
  readonly candidates: number;
  /** Masked SSIM over the subject's ground-truth pixels (channel mean). */
  readonly ssim: number | null;
  /** Gradient correlation with the ground truth over the subject's interior pixels. */
  readonly edgeCorr: number | null;
  /** Extra histogram mass on colors exclusive to other subjects (null when K = 1). */
  readonly colorLeak: number | null;
  /** Largest gain in texture similarity to another subject's reference (null when K = 1). */
  readonly textureLeak: number | null;
}

/** Metrics of one sample. */
export interface SampleMetrics {
  readonly id: string;
  readonly k: number;
  readonly subjects: readonly SubjectMetrics[];
  /** PSNR (dB) over all subject pixels of the sample pooled. */
  readonly identityPsnr: number | null;
  readonly descriptorCos: number | null;
  readonly retrievalAcc: number | null;
  /** Retrieval chance of this sample: mean of 1/|C_k| over the subjects that have a prediction. */
  readonly retrievalChance: number | null;
  /** Masked SSIM over all subject pixels pooled. */
  readonly subjectSsim: number | null;
  /** Gradient correlation over all subjects' interior pixels pooled. */
  readonly edgeCorr: number | null;
  readonly colorLeak: number | null;
  readonly textureLeak: number | null;
  readonly backgroundPsnr: number | null;
  readonly imagePsnr: number;
  /** Mean absolute error over all pixels and channels, 0..255. */
  readonly imageMae: number;
  /** PCK at each radius (patches), keyed `pck@r`; absent without attention maps. */
  readonly pck: Readonly<Record<string, number | null>>;
  /** PCK of teacher-forced attention (ground truth noised to a small t), keyed `pck@r`; absent without. */
  readonly teacherPck?: Readonly<Record<string, number | null>>;
  /** confusion[true slot][predicted slot] counts for this sample. */
  readonly confusion: number[][];
}

/** Options of {@link evaluateSample}. */
export interface EvaluateOptions {
  readonly attention?: AttentionMaps;
  /** Teacher-forced attention maps, scored apart as {@link SampleMetrics.teacherPck}. */
  readonly teacherAttention?: AttentionMaps;
  /** PCK radii in target patches (default [0, 1, 2]). */
  readonly pckRadii?: readonly number[];
}

function psnr(sse: number, n: number): number | null {
  if (n === 0) return null;
  const mse = sse / n;
  return mse === 0 ? PSNR_CAP : Math.min(PSNR_CAP, 10 * Math.log10((255 * 255) / mse));
}

const mean = (xs: readonly (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
};

/** Checks a generated image against its sample's target; names the sample on mismatch. */
export function checkGenerated(sample: SemAlignSample, img: ImageValue): void {
  const t = sample.target;
  if (img.width !== t.width || img.height !== t.height) {
    throw new RangeError(`generated image for ${sample.annotation.id} is ${img.width}×${img.height}, the target is ${t.width}×${t.height}`);
  }
  if (img.channels !== 3 && img.channels !== 4) {
    throw new RangeError(`generated image for ${sample.annotation.id} has ${img.channels} channels, expected 3 (RGB) or 4 (RGBA)`);
  }
}

/** Descriptor pose for comparisons made in the target frame (warped references). */
const FRAME = { rotationDeg: 0, flip: false, half: 1 } as const;

/** Fewest overlap pixels for a candidate reference to be scored at all. */
const MIN_OVERLAP = 4;
/** A candidate whose silhouette covers less than this share of the region is not scored. */
const MIN_OVERLAP_SHARE = 0.5;

/** Candidate references of one subject's region, all described over one common pixel set. */
export interface Candidates {
  /** The common pixels (1): region ∩ every scored candidate's warped silhouette. */
  readonly mask: Uint8Array;
  readonly bounds: Bounds;
  readonly pixels: number;
  /** Per slot: the warped reference's descriptor over the common pixels, or null (not scored). */
  readonly refs: readonly (Descriptor | null)[];
}

/**
 * Every reference warped into subject `slot`'s pose in the target frame and described over one
 * common pixel set: the subject's ground-truth region ∩ the warped silhouettes of all candidates
 * that cover at least MIN_OVERLAP_SHARE of it. Candidates are compared with the region like for
 * like (same scale, pose and pixels); silhouettes cannot decide retrieval by themselves, and no
 * candidate gets more pixels than another (a larger set gives a smoother histogram, which wins
 * on noise — retrieval on noise must stay at chance).
 */
export function candidates(sample: SemAlignSample, slot: number, region: Uint8Array): Candidates {
  const a = sample.annotation;
  const s = a.subjects[slot]!;
  const W = a.target.width;
  const H = a.target.height;
  const frame = { ...FRAME, half: s.pose.half };
  let area = 0;
  const bounds: [number, number, number, number] = [W, H, 0, 0];
  for (let p = 0; p < W * H; p++) {
    if (region[p] === 0) continue;
    area++;
    const x = p % W;
    const y = (p - x) / W;
    bounds[0] = Math.min(bounds[0], x);
    bounds[1] = Math.min(bounds[1], y);
    bounds[2] = Math.max(bounds[2], x + 1);
    bounds[3] = Math.max(bounds[3], y + 1);
  }
  const need = Math.max(MIN_OVERLAP, Math.ceil(MIN_OVERLAP_SHARE * area));
  const count = new Uint8Array(W * H);
  const warped = sample.refs.map((ref) => {
    const ws = warpReference(silhouette(ref), s.refToTarget, W, H, region, bounds);
    const on = new Uint8Array(W * H);
    let n = 0;
    for (let p = 0; p < W * H; p++) {
      if (region[p] !== 0 && ws.data[3 * p]! >= 128) {
        on[p] = 1;
        n++;
      }
    }
    return { image: warpReference(ref, s.refToTarget, W, H, region, bounds), on, n };
  });
  const scored = warped.map((w) => w.n >= need);
  const nScored = scored.filter(Boolean).length;
  warped.forEach((w, j) => {
    if (scored[j]) for (let p = 0; p < W * H; p++) count[p]! += w.on[p]!;
  });
  let pixels = 0;
  const mask = new Uint8Array(W * H);
  for (let p = 0; p < W * H; p++) {
    if (nScored > 0 && count[p] === nScored) {
      mask[p] = 1;
      pixels++;
    }
  }
  const ok = pixels >= MIN_OVERLAP;
  return { mask, bounds, pixels, refs: warped.map((w, j) => (ok && scored[j] ? describeRegion(w.image, mask, frame, bounds) : null)) };
}

/** Whole-reference color histograms (pose-free), used to decide which colors belong to whom. */
export function referenceColors(sample: SemAlignSample): Float64Array[] {
  return sample.refs.map((ref) => {
    const d = ref.data;
    const mask = new Uint8Array(ref.width * ref.height);
    for (let p = 0; p < mask.length; p++) mask[p] = d[3 * p] !== 255 || d[3 * p + 1] !== 255 || d[3 * p + 2] !== 255 ? 1 : 0;
    return describeRegion(ref, mask, FRAME).color;
  });
}

/**
 * Scores a generated image against the sample's ground truth (see docs/metrics.md for every
 * formula). Passing the ground-truth target itself scores perfectly by construction.
 */
export function evaluateSample(sample: SemAlignSample, generated: ImageValue, opts: EvaluateOptions = {}): SampleMetrics {
  checkGenerated(sample, generated);
  const a = sample.annotation;
  const k = a.k;
  const gt = sample.target;
  const label = sample.label.data;
  const gch = generated.channels;
  const n = gt.width * gt.height;
  // Per-region squared error, region 0 = background.
  const sse = new Float64Array(k + 1);
  const cnt = new Float64Array(k + 1);
  let absErr = 0;
  let sseAll = 0;
  for (let p = 0; p < n; p++) {
    const l = label[p]!;
    for (let c = 0; c < 3; c++) {
      const d = generated.data[p * gch + c]! - gt.data[p * 3 + c]!;
      sse[l]! += d * d;
      sseAll += d * d;
      absErr += Math.abs(d);
    }
    cnt[l]! += 3;
  }
  const refColors = referenceColors(sample);
  const genImg: ImageValue = gch === 3 ? generated : dropAlpha(generated);
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const structure: StructureSums[] = [];
  const subjects: SubjectMetrics[] = a.subjects.map((s, slot) => {
    const inRegion = new Uint8Array(n);
    for (let p = 0; p < n; p++) if (label[p] === slot + 1) inRegion[p] = 1;
    if (cnt[slot + 1] === 0) {
      return { slot, identity: s.identity, pixels: 0, psnr: null, descriptorCos: null, predicted: -1, correct: null, candidates: 0, ssim: null, edgeCorr: null, colorLeak: null, textureLeak: null };
    }
    const frame = { ...FRAME, half: s.pose.half };
    const cands = candidates(sample, slot, inRegion);
    const dGen = describeRegion(genImg, inRegion, frame, cands.bounds);
    const dGt = describeRegion(gt, inRegion, frame, cands.bounds);
    const genOn = describeRegion(genImg, cands.mask, frame, cands.bounds);
    const gtOn = describeRegion(gt, cands.mask, frame, cands.bounds);
    let predicted = -1;
    let best = -Infinity;
    cands.refs.forEach((r, j) => {
      if (!r) return;
      const score = descriptorCosine(genOn, r);
      if (score > best) {
        best = score;
        predicted = j;
      }
    });
    if (predicted >= 0) confusion[slot]![predicted]!++;
    const st = structureSums(genImg, gt, inRegion, cands.bounds as [number, number, number, number]);
    structure.push(st);
    let colorLeak: number | null = null;
    let textureLeak: number | null = null;
    if (k > 1) {
      colorLeak = 0;
      for (let b = 0; b < dGen.color.length; b++) {
        let others = 0;
        refColors.forEach((h, j) => {
          if (j !== slot) others = Math.max(others, h[b]!);
        });
        if (others >= LEAK_BIN_MASS && refColors[slot]![b]! < LEAK_BIN_MASS) colorLeak += dGen.color[b]! - dGt.color[b]!;
      }
      colorLeak = Math.max(0, colorLeak);
      textureLeak = 0;
      cands.refs.forEach((r, j) => {
        if (j === slot || !r) return;
        textureLeak = Math.max(textureLeak!, textureCosine(genOn, r) - textureCosine(gtOn, r));
      });
    }
    return {
      slot,
      identity: s.identity,
      pixels: cnt[slot + 1]! / 3,
      psnr: psnr(sse[slot + 1]!, cnt[slot + 1]!),
      descriptorCos: descriptorCosine(dGen, dGt),
      predicted,
      correct: predicted < 0 ? null : predicted === slot,
      candidates: predicted < 0 ? 0 : cands.refs.filter((r) => r !== null).length,
      ssim: ssimOf(st),
      edgeCorr: edgeCorrOf(st),
      colorLeak,
      textureLeak,
    };
  });
  const evaluated = subjects.filter((s) => s.correct !== null);
  return {
    id: a.id,
    k,
    subjects,
    // PSNR of the pooled subject pixels, not a mean of per-subject PSNRs (which the 100 dB cap of
    // an exact subject would dominate).
    identityPsnr: psnr(sse.slice(1).reduce((x, y) => x + y, 0), cnt.slice(1).reduce((x, y) => x + y, 0)),
    descriptorCos: mean(subjects.map((s) => s.descriptorCos)),
    retrievalAcc: evaluated.length ? evaluated.filter((s) => s.correct).length / evaluated.length : null,
    retrievalChance: evaluated.length ? evaluated.reduce((acc, s) => acc + 1 / s.candidates, 0) / evaluated.length : null,
    subjectSsim: ssimOf(addSums(structure)),
    edgeCorr: edgeCorrOf(addSums(structure)),
    colorLeak: mean(subjects.map((s) => s.colorLeak)),
    textureLeak: mean(subjects.map((s) => s.textureLeak)),
    backgroundPsnr: psnr(sse[0]!, cnt[0]!),
    imagePsnr: psnr(sseAll, 3 * n)!,
    imageMae: absErr / (3 * n),
    pck: opts.attention ? pckAtRadii(sample, opts.attention, opts.pckRadii ?? [0, 1, 2]) : {},
    ...(opts.teacherAttention ? { teacherPck: pckAtRadii(sample, opts.teacherAttention, opts.pckRadii ?? [0, 1, 2]) } : {}),
    confusion,
  };
}

function dropAlpha(img: ImageValue): ImageValue {
  const n = img.width * img.height;
  const data = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) data[3 * p + c] = img.data[4 * p + c]!;
  return { width: img.width, height: img.height, channels: 3, data };
}

/**
 * PCK@r: over every visible reference patch u of every slot (refToTarget[k][u] = v ≥ 0), the
 * fraction whose attention row's argmax target patch lies within Euclidean distance r (in
 * patches) of v; a row with tied maxima counts the share of its tied patches within r. Rows are the concatenated references in slot order.
 */
export function pckAtRadii(sample: SemAlignSample, att: AttentionMaps, radii: readonly number[]): Record<string, number | null> {
  const a = sample.annotation;
  const c = a.correspondence;
  const nr = c.refGrid[0] * c.refGrid[1];
  const nt = c.targetGrid[0] * c.targetGrid[1];
  const rows = a.k * nr;
  const size = att.shape.reduce((x, y) => x * y, 1);
  const okShape = (att.shape.length === 2 && att.shape[0] === rows && att.shape[1] === nt) || (att.shape.length === 3 && att.shape[0] === a.k && att.shape[1] === nr && att.shape[2] === nt);
  if (!okShape || size !== att.data.length) {
    throw new RangeError(`attention for ${a.id} has shape [${att.shape.join(', ')}] (${att.data.length} values); expected [${rows}, ${nt}] or [${a.k}, ${nr}, ${nt}]`);
  }
  const gw = c.targetGrid[0];
  const hits = new Array<number>(radii.length).fill(0);
  let total = 0;
  for (let slot = 0; slot < a.k; slot++) {
    const map = c.refToTarget[slot]!;
    for (let u = 0; u < nr; u++) {
      const v = map[u]!;
      if (v < 0) continue;
      const row = (slot * nr + u) * nt;
      let best = -Infinity;
      for (let t = 0; t < nt; t++) best = Math.max(best, att.data[row + t]!);
      // Tied maxima count as a uniform draw among them (expected hit rate), so a uniform row over
      // a region scores the chance of a random patch in it rather than of its first patch.
      let ties = 0;
      const tieHits = new Array<number>(radii.length).fill(0);
      for (let t = 0; t < nt; t++) {
        if (att.data[row + t]! !== best) continue;
        ties++;
        const d = Math.hypot((t % gw) - (v % gw), Math.floor(t / gw) - Math.floor(v / gw));
        radii.forEach((r, i) => {
          if (d <= r + 1e-9) tieHits[i]!++;
        });
      }
      // A row of NaNs has no maximum: a miss.
      if (ties > 0) radii.forEach((_, i) => (hits[i]! += tieHits[i]! / ties));
      total++;
    }
  }
  return Object.fromEntries(radii.map((r, i) => [`pck@${r}`, total ? hits[i]! / total : null]));
}

/**
 * Attention maps built from the ground truth: each visible reference patch puts `1 − noise` on
 * its true target patch and spreads `noise` uniformly; invisible rows are uniform. With
 * `rng`, a fraction `shuffle` of rows instead peak at a random target patch (a controlled error).
 */
export function attentionFromCorrespondence(sample: SemAlignSample, opts: { noise?: number; shuffle?: number; rng?: () => number } = {}): AttentionMaps {
  const a = sample.annotation;
  const c = a.correspondence;
  const nr = c.refGrid[0] * c.refGrid[1];
  const nt = c.targetGrid[0] * c.targetGrid[1];
  const noise = opts.noise ?? 0;
  const data = new Float32Array(a.k * nr * nt);
  for (let slot = 0; slot < a.k; slot++) {
    for (let u = 0; u < nr; u++) {
      const row = (slot * nr + u) * nt;
      let v = c.refToTarget[slot]![u]!;
      if (v >= 0 && opts.rng && opts.rng() < (opts.shuffle ?? 0)) v = Math.floor(opts.rng() * nt);
      for (let t = 0; t < nt; t++) data[row + t] = v < 0 ? 1 / nt : noise / nt;
      if (v >= 0) data[row + v]! += 1 - noise;
    }
  }
  return { shape: [a.k * nr, nt], data };
}
