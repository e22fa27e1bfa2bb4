/**
 * One training step of an imported model with tap losses, and the same step computed
 * independently (not a test file): the export replayed alone on [noised targets; clean
 * references] with the condition rows spelled out, q/k read by ONNX name, heads split and the
 * correspondence map built on the host (mosaic's reference implementation). Shared by the SCAL and
 * MDL step tests.
 */
import * as assert from 'uvu/assert';
import { Graph, KernelSession, Tensor, importOnnx, loadOnnxFile, type OnnxModel, type Sym } from '../../kernels/index.ts';
import { correspondenceMapReference } from '../../plugins/mosaic/index.ts';
import { DEFAULT_CONFIG, generateInMemory, type SemAlignSample } from '../../plugins/semalign/index.ts';
import type { ImportedModel, ModelMapping } from '../../plugins/model/index.ts';
import { boxDownsample } from '../../plugins/model/images.ts';
import { imagesToTensor } from '../../plugins/latent/index.ts';
import { FIXTURES } from '../kernels/importReference.ts';

export const load = (name: string) => loadOnnxFile(new URL(`${name}.onnx`, FIXTURES).pathname);

export const UNET: ModelMapping = { image: 'x', time: 't', condition: 'c', conditionFrom: 'references', output: 'y', timeScale: 1, attention: [{ q: '/mid_attn/to_q/MatMul_output_0', k: '/mid_attn/to_k/MatMul_output_0' }], heads: 2 };
export const DIT: ModelMapping = {
  image: 'x', time: 't', condition: '', conditionFrom: 'references', output: 'y', timeScale: 1, heads: 1,
  attention: [0, 1].map((b) => ({ q: `/blocks.${b}/Gather_4_output_0`, k: `/blocks.${b}/Gather_5_output_0` })),
};

/** SemAlign samples with exactly k references on the given grids (64×64 targets, 32×32 references). */
export function samples(k: number, grid: { patchSize: number; refPatchSize: number }, n = 6, seed = 3): SemAlignSample[] {
  return generateInMemory({ ...DEFAULT_CONFIG, seed, targetSize: 64, refSize: 32, ...grid, kMin: k, kMax: k, dip: 'none' }, { train: n });
}

/** Row-major [rows, T, C] (or [rows, H, T, d]) → per-row [H, T, d] arrays, heads split from C. */
export function heads(t: Tensor, h: number): Float64Array[] {
  const rows = t.shape[0]!;
  const data = t.toArray();
  const [T, C] = t.shape.length === 4 ? [t.shape[2]!, t.shape[1]! * t.shape[3]!] : [t.shape[1]!, t.shape[2]!];
  const d = C / h;
  return Array.from({ length: rows }, (_, r) => {
    const out = new Float64Array(h * T * d);
    for (let hh = 0; hh < h; hh++) {
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < d; j++) {
          out[(hh * T + i) * d + j] = t.shape.length === 4 ? data[((r * h + hh) * T + i) * d + j]! : data[(r * T + i) * C + hh * d + j]!;
        }
      }
    }
    return out;
  });
}

export interface ReplayedStep {
  /** The step's outputs as Train computes them (loss, flow and each tap loss). */
  readonly got: Record<string, Tensor>;
  /** The batch's feeds. */
  readonly feeds: Record<string, Tensor>;
  readonly K: number;
  /** The samples of the batch's rows, in order. */
  readonly picked: SemAlignSample[];
  /** Host flow loss and correspondence map [B, K·L, N] with its sizes. */
  readonly flow: number;
  readonly map: Float64Array;
  readonly dims: { B: number; H: number; R: number; N: number; d: number };
}

/** Step `step` of `model` (with tap losses) on `data` at batch B, and the same step computed independently. */
export async function replayStep(onnx: OnnxModel, mapping: ModelMapping, model: ImportedModel, data: SemAlignSample[], B: number, opts: { step?: number; steps?: number } = {}): Promise<ReplayedStep> {
  const program = model.trainingProgram(data, { steps: opts.steps ?? 1 });
  const batch = program.batch(opts.step ?? 0, B, 5);
  const f = batch.feeds as Record<string, Tensor>;
  const K = Number(batch.variant.slice(1));

  // The program's batch: every target row comes with its own sample's references and condition.
  const [, H, W] = model.imageShape;
  const x0 = f.x0!.toArray();
  const plane = 3 * H! * W!;
  const picked: SemAlignSample[] = [];
  for (let b = 0; b < B; b++) {
    const row = Array.from(x0.slice(b * plane, (b + 1) * plane));
    const s = data.find((d) => Array.from(imagesToTensor([boxDownsample(d.target, W!, H!, 't')]).toArray()).every((v, i) => v === row[i]));
    assert.ok(s, `target row ${b} is a sample's target`);
    picked.push(s!);
    const refs = imagesToTensor(s!.refs.map((r) => boxDownsample(r, W!, H!, 'r'))).toArray();
    assert.equal(Array.from(f.refs!.toArray().slice(b * K * plane, (b + 1) * K * plane)), Array.from(refs), `row ${b}: its own references`);
    if (f.condition) assert.equal(Array.from(f.condition.toArray().slice(b * K * plane, (b + 1) * K * plane)), Array.from(refs), `row ${b}: its references as the condition`);
  }

  // The step as Train compiles it.
  const g = new Graph();
  const out = program.modelFn(batch.variant, B)(g);
  const params: Record<string, Tensor> = Object.create(null);
  for (const [name, info] of g.params) if (info.init.kind === 'values') params[name] = info.init.tensor;
  const step = await KernelSession.create(g.toModel({ loss: out.loss, ...out.outputs }));
  const got = await step.run({ ...f, ...params });
  await step.release();

  // Independently: the export alone on [x_t; references] at times [t; 0], q/k/y read by name.
  const rows = B * (1 + K);
  const t = f.t!.toArray();
  const noise = f.noise!.toArray();
  const x = new Float32Array(rows * plane);
  for (let i = 0; i < B * plane; i++) {
    const tb = t[Math.floor(i / plane)]!;
    x[i] = (1 - tb) * x0[i]! + tb * noise[i]!;
  }
  x.set(f.refs!.toArray(), B * plane);
  const times = new Float32Array(rows);
  times.set(t);
  const g2 = new Graph();
  const inputs: Record<string, Sym> = { x: g2.input('x', [rows, 3, H!, W!]), t: g2.input('t', [rows]) };
  const feeds: Record<string, Tensor> = { x: new Tensor('float32', [rows, 3, H!, W!], x), t: new Tensor('float32', [rows], times) };
  if (f.condition) {
    // Target rows get their sample's condition, and so does each of its reference rows.
    const cs = f.condition.shape.slice(1);
    const per = f.condition.size / B;
    const c = new Float32Array(rows * per);
    c.set(f.condition.toArray());
    for (let b = 0; b < B; b++) for (let j = 0; j < K; j++) c.set(f.condition.toArray().slice(b * per, (b + 1) * per), (B + b * K + j) * per);
    inputs.c = g2.input('c', [rows, ...cs]);
    feeds.c = new Tensor('float32', [rows, ...cs], c);
  }
  const tensors = importOnnx(g2, onnx, inputs, { params: 'trainable' });
  const outs: Record<string, Sym> = { y: tensors.y! };
  mapping.attention.forEach((a, i) => {
    outs[`q${i}`] = tensors[a.q]!;
    outs[`k${i}`] = tensors[a.k]!;
  });
  const alone = await KernelSession.create(g2.toModel(outs));
  const ref = await alone.run({ ...feeds, ...params });
  await alone.release();

  const y = ref.y!.toArray();
  let sq = 0;
  for (let i = 0; i < B * plane; i++) sq += (y[i]! - (noise[i]! - x0[i]!)) ** 2;
  const flow = sq / (B * plane);

  // Per site: q of sample b's references (K·L rows) against k of its target; heads from the tensor.
  const qs: Float64Array[] = [];
  const ks: Float64Array[] = [];
  let dims = { B, H: 0, R: 0, N: 0, d: 0 };
  mapping.attention.forEach((_, i) => {
    const q = ref[`q${i}`]!;
    const h = q.shape.length === 4 ? q.shape[1]! : mapping.heads;
    const qh = heads(q, h);
    const kh = heads(ref[`k${i}`]!, h);
    const T = qh[0]!.length / h / (q.shape.length === 4 ? q.shape[3]! : q.shape[2]! / h);
    const d = qh[0]!.length / h / T;
    const qRef = new Float64Array(B * h * K * T * d);
    const kTgt = new Float64Array(B * h * T * d);
    for (let b = 0; b < B; b++) {
      kTgt.set(kh[b]!, b * h * T * d);
      for (let hh = 0; hh < h; hh++) {
        for (let j = 0; j < K; j++) qRef.set(qh[B + b * K + j]!.slice(hh * T * d, (hh + 1) * T * d), ((b * h + hh) * K + j) * T * d);
      }
    }
    qs.push(qRef);
    ks.push(kTgt);
    dims = { B, H: h, R: K * T, N: T, d };
  });
  return { got, feeds: f, K, picked, flow, map: correspondenceMapReference(qs, ks, dims), dims };
}
