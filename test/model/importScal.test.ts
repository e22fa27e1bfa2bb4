// MOSAIC's SCAL on imported models (mosaic/SCALoss through tessera/model's tap-loss interface):
// the training step's SCAL and flow loss equal an independent computation — the export replayed
// alone on [noised targets; clean references] with the condition rows spelled out, q/k read by
// ONNX name, heads split and the correspondence map built on the host (mosaic's reference
// implementation) — for the UNet fixture (rank-3 q/k split into 2 heads, a reference-image
// condition) and the tiny DiT (rank-4 q/k at two blocks, K = 2). Plus the errors a user meets.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph, KernelSession, Tensor, importOnnx, loadOnnxFile, type OnnxModel, type Sym } from '../../kernels/index.ts';
import { correspondenceMapReference, scalReference, scalTapLoss } from '../../plugins/mosaic/index.ts';
import { DEFAULT_CONFIG, generateInMemory, type SemAlignSample } from '../../plugins/semalign/index.ts';
import { ImportedModel, type ModelMapping } from '../../plugins/model/index.ts';
import { boxDownsample } from '../../plugins/model/images.ts';
import { imagesToTensor } from '../../plugins/latent/index.ts';
import { FIXTURES } from '../kernels/importReference.ts';

const load = (name: string) => loadOnnxFile(new URL(`${name}.onnx`, FIXTURES).pathname);

const UNET: ModelMapping = { image: 'x', time: 't', condition: 'c', conditionFrom: 'references', output: 'y', timeScale: 1, attention: [{ q: '/mid_attn/to_q/MatMul_output_0', k: '/mid_attn/to_k/MatMul_output_0' }], heads: 2 };
const DIT: ModelMapping = {
  image: 'x', time: 't', condition: '', conditionFrom: 'references', output: 'y', timeScale: 1, heads: 1,
  attention: [0, 1].map((b) => ({ q: `/blocks.${b}/Gather_4_output_0`, k: `/blocks.${b}/Gather_5_output_0` })),
};

function samples(k: number, grid: { patchSize: number; refPatchSize: number }, n = 6): SemAlignSample[] {
  return generateInMemory({ ...DEFAULT_CONFIG, seed: 3, targetSize: 64, refSize: 32, ...grid, kMin: k, kMax: k, dip: 'none' }, { train: n });
}

/** Row-major [rows, T, C] (or [rows, H, T, d]) → per-row [H, T, d] arrays, heads split from C. */
function heads(t: Tensor, h: number): Float64Array[] {
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

/** Checks one training step of `model` + SCAL against the export replayed alone and SCAL on the host. */
async function checkStep(onnx: OnnxModel, mapping: ModelMapping, data: SemAlignSample[], B: number): Promise<void> {
  const model = new ImportedModel(onnx, 'test', mapping).withTapLoss(scalTapLoss({ alpha: 0.4, mode: 'reference' }));
  const program = model.trainingProgram(data, { steps: 1 });
  const batch = program.batch(0, B, 5);
  const f = batch.feeds as Record<string, Tensor>;
  const K = Number(batch.variant.slice(1));
  assert.equal(program.metrics, ['flow', 'scal']);

  // The program's batch: every target row comes with its own sample's references and condition.
  const [, H, W] = model.imageShape;
  const x0 = f.x0!.toArray();
  const plane = 3 * H! * W!;
  for (let b = 0; b < B; b++) {
    const row = Array.from(x0.slice(b * plane, (b + 1) * plane));
    const s = data.find((d) => Array.from(imagesToTensor([boxDownsample(d.target, W!, H!, 't')]).toArray()).every((v, i) => v === row[i]));
    assert.ok(s, `target row ${b} is a sample's target`);
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
  assert.ok(Math.abs(got.flow!.item() - flow) < 1e-4 * flow, `flow ${got.flow!.item()} vs ${flow}`);

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
  const map = correspondenceMapReference(qs, ks, dims);
  const scal = scalReference(map, Float64Array.from(f['scal.w']!.toArray()), dims);
  assert.ok(scal > 0.5, `SCAL ${scal} is a real value`);
  assert.ok(Math.abs(got.scal!.item() - scal) < 1e-4 * scal, `SCAL ${got.scal!.item()} vs host ${scal}`);
  assert.ok(Math.abs(got.loss!.item() - (flow + 0.4 * scal)) < 1e-4 * (flow + scal), 'loss = flow + α·SCAL');
}

test('UNet fixture: the step’s SCAL (rank-3 q/k, 2 heads) and flow loss with the reference condition equal the export replayed alone', async () => {
  await checkStep(await load('tiny_unet_op17'), UNET, samples(1, { patchSize: 8, refPatchSize: 4 }), 2);
});

test('tiny DiT: SCAL over two blocks’ rank-4 q/k with K = 2 references equals the host computation', async () => {
  await checkStep(await load('tiny_dit_op17'), DIT, samples(2, { patchSize: 16, refPatchSize: 8 }), 2);
});

test('errors: a misnamed attention tensor, SCAL without named attention, plain images, a grid that does not fit, a condition of another K', async () => {
  const unet = await load('tiny_unet_op17');
  assert.throws(() => new ImportedModel(unet, 'test', { ...UNET, attention: [{ q: '/mid_attn/to_q/MatMul_output', k: '/mid_attn/to_k/MatMul_output_0' }] }), /attention tensor '\/mid_attn\/to_q\/MatMul_output' is no node output .*close names: .*\/mid_attn\/to_q\/MatMul_output_0/);
  const scal = scalTapLoss({ alpha: 1, mode: 'pairs' });
  assert.throws(() => new ImportedModel(unet, 'test', { ...UNET, attention: [] }).withTapLoss(scal), /SCAL .* needs the model's attention q\/k tensors: name them/);
  const model = new ImportedModel(unet, 'test', UNET).withTapLoss(scal);
  const good = samples(1, { patchSize: 8, refPatchSize: 4 }, 2);
  assert.throws(() => model.trainingProgram(good.map((s) => s.target), { steps: 1 }), /SCAL .* needs SemAlign samples|is no SemAlign sample/);
  // A 4×4 target grid against the attention's 8×8 tokens: refused before training, naming the sample.
  assert.throws(() => model.trainingProgram(samples(1, { patchSize: 16, refPatchSize: 4 }, 2), { steps: 1 }), /sample train-0000000 has a 4×4 target grid \(16 patches\), expected targetPatches = 64/);
  assert.throws(() => new ImportedModel(unet, 'test', UNET).trainingProgram(samples(2, { patchSize: 8, refPatchSize: 4 }, 2), { steps: 1 }), /sample train-0000000 has 2 references; the condition input takes 1/);
  assert.throws(() => new ImportedModel(unet, 'test', { ...UNET, heads: 3 }).withTapLoss(scal).trainingProgram(good, { steps: 1 }), /16 channels, not divisible into 3 heads/);
});

test('conditionFrom zeros trains on plain images; the default feeds references and needs samples', async () => {
  const unet = await load('tiny_unet_op17');
  const zeros = new ImportedModel(unet, 'test', { ...UNET, conditionFrom: 'zeros' });
  const data = samples(1, { patchSize: 8, refPatchSize: 4 }, 2);
  const p = zeros.trainingProgram(data.map((s) => s.target), { steps: 1 });
  assert.equal(p.variants, ['default']);
  assert.not.ok('condition' in p.batch(0, 2, 0).feeds);
  assert.throws(() => new ImportedModel(unet, 'test', UNET).trainingProgram(data.map((s) => s.target), { steps: 1 }), /a condition fed from references needs SemAlign samples|is no SemAlign sample/);
  // Resuming: a checkpoint from before the terms key (no condition, no tap losses) resumes a plain
  // run, not one with the reference condition or SCAL.
  const { 'model.terms': _, ...old } = p.metadata;
  assert.equal(p.checkMetadata(old), []);
  const scal = new ImportedModel(unet, 'test', UNET).withTapLoss(scalTapLoss({ alpha: 0.4, mode: 'reference' })).trainingProgram(data, { steps: 1 });
  assert.match(scal.checkMetadata({ ...old, 'model.data': scal.metadata['model.data']! }).join(), /condition or attention losses differ: .*"condition":"references".*"name":"scal"/);
});

test.run();
