import { Tensor } from 'tessera/kernels';
import { applyAffine, poseFromRelative, referenceToTarget, relativePose, type SemAlignSample } from 'tessera/semalign';
import { dims, layoutDim, type MosaicConfig } from './MosaicConfig.ts';
import { patchify, patchifyLatent } from './patches.ts';
import { positionFeatures, positionFeaturesAt } from './positionFeatures.ts';

/** A sample's latents ([C, h, w] each, from latent/Autoencoder): what a 'latent' model's tokens are made of. */
export interface SampleLatents {
  readonly target: Float32Array;
  readonly refs: readonly Float32Array[];
}

/** Latents of the samples a batch is built from (see latentCache.ts). */
export type LatentLookup = (sample: SemAlignSample) => SampleLatents;

/** Host tensors for one batch (all samples share K). */
export interface MosaicBatch {
  k: number;
  /** Clean target patches [B, N, P] (zeros when the samples are used for generation only). */
  x0: Tensor;
  refs: Tensor;
  /** Layout features [B, K, layoutDim(c)] per subject ({@link layoutFeatures}). */
  boxes: Tensor;
  boxmap: Tensor;
  /** With refPositions 'pose': each reference token's position features [B, K·L, width] ({@link referencePositions}). */
  refpos?: Tensor;
  /** Share of subject pixels (label > 0) in each target token [B, N]: the subject-weighted loss's weights. */
  subject: Tensor;
}

/**
 * Checks that samples fit a model before any session is built: same K within the batch, K within
 * the model's slots, image sizes equal to the model's. Every problem is reported at once.
 */
export function checkSamples(samples: readonly SemAlignSample[], c: MosaicConfig, what = 'samples'): void {
  if (samples.length === 0) throw new RangeError(`${what}: no samples`);
  const bad: string[] = [];
  for (const s of samples) {
    const id = s.annotation.id;
    const k = s.refs.length;
    if (k < 1 || k > c.maxRefs) bad.push(`${id}: K = ${k} references, but this model accepts 1…${c.maxRefs} (preset ${c.preset})`);
    if (s.target.width !== c.targetSize || s.target.height !== c.targetSize) bad.push(`${id}: target is ${s.target.width}×${s.target.height}, the model expects ${c.targetSize}×${c.targetSize}`);
    s.refs.forEach((r, i) => {
      if (r.width !== c.refSize || r.height !== c.refSize) bad.push(`${id}: reference ${i} is ${r.width}×${r.height}, the model expects ${c.refSize}×${c.refSize}`);
    });
    const corr = s.annotation.correspondence;
    const { grid, refGrid, tokenPixels } = dims(c);
    if (corr && (corr.targetGrid[0] !== grid || corr.targetGrid[1] !== grid || corr.refGrid[0] !== refGrid || corr.refGrid[1] !== refGrid)) {
      bad.push(`${id}: correspondences are annotated on a ${corr.targetGrid[0]}×${corr.targetGrid[1]} target / ${corr.refGrid[0]}×${corr.refGrid[1]} reference grid, but ${c.preset}'s tokens are ${grid}×${grid} / ${refGrid}×${refGrid} (generate the data with patchSize = refPatchSize = ${tokenPixels})`);
    }
    const subjects = s.annotation.subjects;
    if (s.annotation.k !== k || subjects.length !== k) bad.push(`${id}: ${k} references but annotation.k = ${s.annotation.k} and ${subjects.length} subjects`);
    const slots = subjects.map((x) => x.slot);
    if (slots.some((v) => !Number.isInteger(v) || v < 0 || v >= k) || new Set(slots).size !== slots.length) bad.push(`${id}: subject slots [${slots.join(', ')}] must be distinct integers in 0…${k - 1}`);
    if (bad.length > 20) break;
  }
  if (bad.length) throw new RangeError(`${what} do not fit the model:\n  ${bad.slice(0, 20).join('\n  ')}`);
}

/** Share of each grid cell covered by an axis-aligned pixel box. */
function coverage(box: readonly number[], grid: number, patch: number, out: Float32Array, stride: number, offset: number): void {
  const [bx, by, bw, bh] = box as [number, number, number, number];
  for (let gy = 0; gy < grid; gy++) {
    const oy = Math.max(0, Math.min(by + bh, (gy + 1) * patch) - Math.max(by, gy * patch));
    if (oy <= 0) continue;
    for (let gx = 0; gx < grid; gx++) {
      const ox = Math.max(0, Math.min(bx + bw, (gx + 1) * patch) - Math.max(bx, gx * patch));
      if (ox > 0) out[(gy * grid + gx) * stride + offset] = (ox * oy) / (patch * patch);
    }
  }
}

type Subject = SemAlignSample['annotation']['subjects'][number];

/**
 * One subject's layout features into `out` at `offset`: the box as fractions of the target side,
 * then with `layoutPose` the pose relative to its reference — cos θ, sin θ (θ clockwise on
 * screen), −1 when mirrored else 1, ln scale — and 1 (layout given). A subject whose layout was
 * dropped keeps all zeros. Annotations without `relativePose` (hand-made) get it derived from the
 * pose and the reference.
 */
export function layoutFeatures(sub: Subject, c: MosaicConfig, out: Float32Array, offset: number): void {
  if (sub.layoutDropped === true) return;
  for (let j = 0; j < 4; j++) out[offset + j] = sub.box[j]! / c.targetSize;
  if (!c.layoutPose) return;
  const rel = sub.relativePose ?? relativePose(sub.pose, sub.reference.size, sub.reference.scale);
  const t = (rel.rotationDeg * Math.PI) / 180;
  out[offset + 4] = Math.cos(t);
  out[offset + 5] = Math.sin(t);
  out[offset + 6] = rel.flip ? -1 : 1;
  out[offset + 7] = Math.log(rel.scale);
  out[offset + 8] = 1;
}

/**
 * Where the layout puts each reference token in the target, in target-grid units: the
 * reference→target affine of the pose the layout gives (box centre, relative rotation, mirror and
 * scale; SemAlign-Synth centres a subject in its box), applied to each token's centre. Computed
 * from the condition only (never the subject's true pixels). null when the layout is dropped.
 */
export function warpedTokenCentres(sub: Subject, c: MosaicConfig): Float64Array | null {
  if (sub.layoutDropped === true) return null;
  const { refGrid, tokenPixels } = dims(c);
  const rel = sub.relativePose ?? relativePose(sub.pose, sub.reference.size, sub.reference.scale);
  const [bx, by, bw, bh] = sub.box;
  const pose = poseFromRelative(rel, bx + bw / 2, by + bh / 2, sub.reference.size, sub.reference.scale);
  const m = referenceToTarget(pose, sub.reference.size, sub.reference.scale);
  const out = new Float64Array(refGrid * refGrid * 2);
  for (let u = 0; u < refGrid * refGrid; u++) {
    const [tx, ty] = applyAffine(m, ((u % refGrid) + 0.5) * tokenPixels, (Math.floor(u / refGrid) + 0.5) * tokenPixels);
    out[2 * u] = tx / tokenPixels;
    out[2 * u + 1] = ty / tokenPixels;
  }
  return out;
}

/**
 * Position features of every reference token of one sample into `out` ([K·L, width] at
 * `offset`): pose-warped ({@link warpedTokenCentres}) where the layout is given, the
 * reference's own grid stretched over the image where it is dropped.
 */
export function referencePositions(sample: SemAlignSample, c: MosaicConfig, out: Float32Array, offset: number): void {
  const { l, grid, refGrid } = dims(c);
  const plain = positionFeatures(refGrid, refGrid, c.width, grid / refGrid).data as Float32Array;
  for (const sub of sample.annotation.subjects) {
    const at = offset + sub.slot * l * c.width;
    const centres = warpedTokenCentres(sub, c);
    if (centres) positionFeaturesAt(centres, c.width, out, at);
    else out.set(plain, at);
  }
}

/** Share of label > 0 pixels in each token of a target [N] into `out` at `offset`. */
function subjectShare(s: SemAlignSample, c: MosaicConfig, out: Float32Array, offset: number): void {
  const { grid, tokenPixels } = dims(c);
  const { width: W, channels: C, data } = s.label;
  const inv = 1 / (tokenPixels * tokenPixels);
  for (let gy = 0; gy < grid; gy++) {
    for (let gx = 0; gx < grid; gx++) {
      let on = 0;
      for (let py = 0; py < tokenPixels; py++) {
        for (let px = 0; px < tokenPixels; px++) if (data[((gy * tokenPixels + py) * W + gx * tokenPixels + px) * C]! > 0) on++;
      }
      out[offset + gy * grid + gx] = on * inv;
    }
  }
}

/**
 * Packs samples into the network's host inputs: target and reference patches, each subject's
 * layout features ({@link layoutFeatures}) and the box coverage of every target patch. A subject
 * whose layout was dropped (annotation `layoutDropped`) gets zero features and no coverage, so
 * its reference must find its place in the target by attention.
 *
 * @example
 * const batch = buildBatch(samples.filter((s) => s.refs.length === 2), PRESETS.tiny);
 */
export function buildBatch(samples: readonly SemAlignSample[], c: MosaicConfig, latents?: LatentLookup): MosaicBatch {
  checkSamples(samples, c);
  if (c.space === 'latent' && !latents) throw new Error(`mosaic: preset ${c.preset} works in the autoencoder's latent space; its samples must be encoded first (wire a latent/Autoencoder into mosaic/Model)`);
  const k = samples[0]!.refs.length;
  const mixed = samples.find((s) => s.refs.length !== k);
  if (mixed) throw new RangeError(`a batch needs one K: ${samples[0]!.annotation.id} has ${k} references, ${mixed.annotation.id} has ${mixed.refs.length}`);
  const { n, l, grid, patchDim, tokenPixels, channels } = dims(c);
  const B = samples.length;
  const x0 = new Tensor('float32', [B, n, patchDim]);
  const refs = new Tensor('float32', [B, k * l, patchDim]);
  const F = layoutDim(c);
  const boxes = new Tensor('float32', [B, k, F]);
  const boxmap = new Tensor('float32', [B, n, k]);
  const subject = new Tensor('float32', [B, n]);
  const refpos = c.refPositions === 'pose' ? new Tensor('float32', [B, k * l, c.width]) : undefined;
  samples.forEach((s, b) => {
    if (latents) {
      const z = latents(s);
      patchifyLatent(z.target, channels, c.targetSize / c.latentDown, c.patch, c.latentScale, x0.data as Float32Array, b * n * patchDim);
      z.refs.forEach((r, i) => patchifyLatent(r, channels, c.refSize / c.latentDown, c.patch, c.latentScale, refs.data as Float32Array, (b * k * l + i * l) * patchDim));
    } else {
      patchify(s.target, c.patch, x0.data as Float32Array, b * n * patchDim);
      s.refs.forEach((r, i) => patchify(r, c.patch, refs.data as Float32Array, (b * k * l + i * l) * patchDim));
    }
    s.annotation.subjects.forEach((sub) => {
      layoutFeatures(sub, c, boxes.data as Float32Array, (b * k + sub.slot) * F);
      if (sub.layoutDropped !== true) coverage(sub.box, grid, tokenPixels, (boxmap.data as Float32Array).subarray(b * n * k), k, sub.slot);
    });
    subjectShare(s, c, subject.data as Float32Array, b * n);
    if (refpos) referencePositions(s, c, refpos.data as Float32Array, b * k * l * c.width);
  });
  return refpos ? { k, x0, refs, boxes, boxmap, subject, refpos } : { k, x0, refs, boxes, boxmap, subject };
}

/**
 * The network's condition feeds of a batch — refs, boxes, boxmap and, with pose-warped positions,
 * refpos — the inputs mosaicPrograms' networkInputs declares besides xt and tfeat.
 */
export function conditionFeeds(b: MosaicBatch): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = { refs: b.refs, boxes: b.boxes, boxmap: b.boxmap };
  if (b.refpos) feeds.refpos = b.refpos;
  return feeds;
}

/** Groups sample indices by K (ascending), keeping their order. */
export function groupByK(samples: readonly SemAlignSample[]): Map<number, number[]> {
  const m = new Map<number, number[]>();
  samples.forEach((s, i) => {
    const list = m.get(s.refs.length);
    if (list) list.push(i);
    else m.set(s.refs.length, [i]);
  });
  return new Map([...m.entries()].sort((a, b) => a[0] - b[0]));
}
