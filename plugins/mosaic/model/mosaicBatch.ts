import { Tensor } from 'tessera/kernels';
import { relativePose, type SemAlignSample } from 'tessera/semalign';
import { dims, layoutDim, type MosaicConfig } from './MosaicConfig.ts';
import { patchify } from './patches.ts';

/** Host tensors for one batch (all samples share K). */
export interface MosaicBatch {
  k: number;
  /** Clean target patches [B, N, P] (zeros when the samples are used for generation only). */
  x0: Tensor;
  refs: Tensor;
  /** Layout features [B, K, layoutDim(c)] per subject ({@link layoutFeatures}). */
  boxes: Tensor;
  boxmap: Tensor;
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
 * Packs samples into the network's host inputs: target and reference patches, each subject's
 * layout features ({@link layoutFeatures}) and the box coverage of every target patch. A subject
 * whose layout was dropped (annotation `layoutDropped`) gets zero features and no coverage, so
 * its reference must find its place in the target by attention.
 *
 * @example
 * const batch = buildBatch(samples.filter((s) => s.refs.length === 2), PRESETS.tiny);
 */
export function buildBatch(samples: readonly SemAlignSample[], c: MosaicConfig): MosaicBatch {
  checkSamples(samples, c);
  const k = samples[0]!.refs.length;
  const mixed = samples.find((s) => s.refs.length !== k);
  if (mixed) throw new RangeError(`a batch needs one K: ${samples[0]!.annotation.id} has ${k} references, ${mixed.annotation.id} has ${mixed.refs.length}`);
  const { n, l, grid, patchDim } = dims(c);
  const B = samples.length;
  const x0 = new Tensor('float32', [B, n, patchDim]);
  const refs = new Tensor('float32', [B, k * l, patchDim]);
  const F = layoutDim(c);
  const boxes = new Tensor('float32', [B, k, F]);
  const boxmap = new Tensor('float32', [B, n, k]);
  samples.forEach((s, b) => {
    patchify(s.target, c.patch, x0.data as Float32Array, b * n * patchDim);
    s.refs.forEach((r, i) => patchify(r, c.patch, refs.data as Float32Array, (b * k * l + i * l) * patchDim));
    s.annotation.subjects.forEach((sub) => {
      layoutFeatures(sub, c, boxes.data as Float32Array, (b * k + sub.slot) * F);
      if (sub.layoutDropped !== true) coverage(sub.box, grid, c.patch, (boxmap.data as Float32Array).subarray(b * n * k), k, sub.slot);
    });
  });
  return { k, x0, refs, boxes, boxmap };
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
