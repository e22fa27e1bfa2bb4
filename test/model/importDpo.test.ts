// focusdpo/DPOLoss on an imported model (tessera/model's PairObjective): the step's Flow-DPO loss,
// accuracy and margin equal the formula evaluated on the host from the export replayed alone with
// the policy's and with the reference's weights (winner and loser noised with the same ε and t);
// the reference is a frozen `ref.*` copy that starts as the policy, and weights files leave it out.
// graphs/import-dpo.json runs it headless through the CLI with LoRA.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, cli } from './cli.ts';
import { Graph, KernelSession, Tensor, importOnnx, loadOnnxFile, loadSafetensors, type Sym } from '../../kernels/index.ts';
import { DEFAULT_CONFIG, generateInMemory } from '../../plugins/semalign/index.ts';
import { ImportedModel, type ModelMapping } from '../../plugins/model/index.ts';
import { importedObjective } from '../../plugins/focusdpo/importedObjective.ts';

const MAPPING: ModelMapping = { image: 'x', time: 't', condition: '', conditionFrom: 'references', output: 'y', timeScale: 1, attention: [], heads: 1 };
const load = () => loadOnnxFile(join(ROOT, 'test/fixtures/onnx/tiny_dit_op17.onnx'));
const pairs = () => generateInMemory({ ...DEFAULT_CONFIG, seed: 4, kMin: 1, kMax: 2, dip: 'mixed' }, { train: 6 });

test('the DPO step equals −log σ(−β/2·mean_p[(e_θ,w − e_ref,w) − (e_θ,l − e_ref,l)]) from the export replayed alone', async () => {
  const onnx = await load();
  const beta = 500;
  const model = new ImportedModel(onnx, 'test', MAPPING).withPairObjective(importedObjective({ objective: 'dpo', beta }));
  const program = model.trainingProgram(pairs(), { steps: 1 });
  assert.equal(program.metrics, ['acc', 'margin', 'rewardW', 'rewardL', 'flowW']);
  const B = 3;
  const batch = program.batch(0, B, 9);
  const f = batch.feeds as Record<string, Tensor>;
  const g = new Graph();
  const out = program.modelFn(batch.variant, B)(g);
  // Policy = the export's values; reference = those values perturbed (as after some training).
  const policy: Record<string, Tensor> = Object.create(null);
  const reference: Record<string, Tensor> = Object.create(null);
  let i = 0;
  for (const [name, info] of g.params) {
    if (name.startsWith('ref.')) {
      assert.not.ok(info.trainable, `${name} is frozen`);
      continue;
    }
    assert.ok(info.trainable && info.init.kind === 'values', name);
    assert.ok(g.params.has(`ref.${name}`), `reference copy of ${name}`);
    const t = info.init.kind === 'values' ? info.init.tensor : null!;
    policy[name] = t;
    reference[name] = new Tensor('float32', t.shape, (t.data as Float32Array).map((v) => v * (1 + 0.05 * Math.sin(++i))));
  }
  const feeds: Record<string, Tensor> = { ...f, ...policy };
  for (const [name, t] of Object.entries(reference)) feeds[`ref.${name}`] = t;
  const step = await KernelSession.create(g.toModel({ loss: out.loss, ...out.outputs }));
  const got = await step.run(feeds);
  await step.release();

  // Host: x_t = (1 − t)·x0 + t·ε for winners then losers (same ε, t); errors per pixel.
  const plane = 3 * 16 * 16;
  const rows = 2 * B;
  const x0 = new Float32Array(rows * plane);
  x0.set(f.x0w!.toArray());
  x0.set(f.x0l!.toArray(), B * plane);
  const noise = f.noise!.toArray();
  const t = f.t!.toArray();
  const xt = new Float32Array(rows * plane);
  const times = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    times[r] = t[r % B]!;
    for (let j = 0; j < plane; j++) xt[r * plane + j] = (1 - times[r]!) * x0[r * plane + j]! + times[r]! * noise[(r % B) * plane + j]!;
  }
  const g2 = new Graph();
  const y = importOnnx(g2, onnx, { x: g2.input('x', [rows, 3, 16, 16]), t: g2.input('t', [rows]) }, { params: 'trainable' }).y as Sym;
  const alone = await KernelSession.create(g2.toModel({ y }));
  const errors = async (params: Record<string, Tensor>) => {
    const v = (await alone.run({ x: new Tensor('float32', [rows, 3, 16, 16], xt), t: new Tensor('float32', [rows], times), ...params })).y!.toArray();
    // Mean over pixels of the per-pixel (channel-mean) squared error = mean over all values.
    return Array.from({ length: rows }, (_, r) => {
      let s = 0;
      for (let j = 0; j < plane; j++) s += (v[r * plane + j]! - (noise[(r % B) * plane + j]! - x0[r * plane + j]!)) ** 2;
      return s / plane;
    });
  };
  const eP = await errors(policy);
  const eR = await errors(reference);
  await alone.release();
  const inside = Array.from({ length: B }, (_, b) => (-beta / 2) * (eP[b]! - eR[b]! - (eP[B + b]! - eR[B + b]!)));
  const loss = inside.reduce((s, v) => s + Math.log1p(Math.exp(-v)), 0) / B;
  const margin = inside.reduce((s, v) => s + v, 0) / B;
  assert.ok(inside.some((v) => Math.abs(v) > 0.05), `the perturbed reference gives a real margin: ${inside}`);
  assert.ok(Math.abs(got.loss!.item() - loss) < 2e-3 * Math.max(1, loss), `loss ${got.loss!.item()} vs host ${loss}`);
  assert.ok(Math.abs(got.margin!.item() - margin) < 2e-3 * Math.max(1, Math.abs(margin)), `margin ${got.margin!.item()} vs host ${margin}`);
  assert.ok(Math.abs(got.acc!.item() - inside.filter((v) => v > 0).length / B) < 1e-6, `acc ${got.acc!.item()}`);
  assert.ok(Math.abs(got.flowW!.item() - eP.slice(0, B).reduce((s, v) => s + v, 0) / B) < 1e-4, 'flowW = the policy’s winner flow loss');
});

test('the reference starts as the policy (trained weights copied to ref.*); weights files and the returned model leave it out', async () => {
  const onnx = await load();
  const trained: Record<string, Tensor> = Object.create(null);
  for (const t of onnx.graph.initializers) if (t.dtype === 'float32') trained[t.name] = new Tensor('float32', t.dims, (t.data as Float32Array).map((v) => v * 0.5));
  const model = new ImportedModel(onnx, 'test', MAPPING).withWeights({ params: trained, source: 'mem', step: 3 }).withPairObjective(importedObjective({ objective: 'dpo', beta: 1 }));
  const program = model.trainingProgram(pairs(), { steps: 1 });
  assert.is(program.initial!['ref.blocks.0.qkv.weight'], trained['blocks.0.qkv.weight']);
  const all = { ...program.initial!, extra: trained['blocks.0.qkv.weight']! };
  const kept = program.weightsOf!(all);
  assert.ok(Object.keys(kept).every((k) => !k.startsWith('ref.')) && 'extra' in kept && 'blocks.0.qkv.weight' in kept);
  assert.not.ok(program.checkMetadata({ ...program.metadata }).length, 'own metadata resumes');
  assert.match(program.checkMetadata({ ...program.metadata, 'model.objective': '{"name":"sft"}' }).join(), /preference objective differ/);
});

test('the UNet with its reference condition: a DPO step with the reference = the policy has loss ln 2, the condition is fed from the pairs', async () => {
  const onnx = await loadOnnxFile(join(ROOT, 'test/fixtures/onnx/tiny_unet_op17.onnx'));
  const mapping: ModelMapping = { ...MAPPING, condition: 'c' };
  const model = new ImportedModel(onnx, 'test', mapping).withPairObjective(importedObjective({ objective: 'dpo', beta: 2000 }));
  const data = generateInMemory({ ...DEFAULT_CONFIG, seed: 4, kMin: 1, kMax: 1, dip: 'mixed' }, { train: 3 });
  const program = model.trainingProgram(data, { steps: 1 });
  const batch = program.batch(0, 2, 1);
  const f = batch.feeds as Record<string, Tensor>;
  assert.equal(f.condition!.shape, [2, 3, 16, 16]);
  assert.ok(f.condition!.toArray().some((v) => v !== 0), 'reference images, not zeros');
  const g = new Graph();
  const out = program.modelFn(batch.variant, 2)(g);
  const params: Record<string, Tensor> = Object.create(null);
  for (const [name, info] of g.params) if (info.init.kind === 'values') params[name] = info.init.tensor;
  const step = await KernelSession.create(g.toModel({ loss: out.loss, ...out.outputs }));
  const got = await step.run({ ...f, ...params });
  await step.release();
  assert.ok(Math.abs(got.loss!.item() - Math.LN2) < 1e-4 && Math.abs(got.margin!.item()) < 1e-2, `loss ${got.loss!.item()}, margin ${got.margin!.item()}`);
  assert.throws(() => model.trainingProgram(generateInMemory({ ...DEFAULT_CONFIG, seed: 4, kMin: 2, kMax: 2, dip: 'mixed' }, { train: 1 }), { steps: 1 }), /train-0000000 has 2 references; the condition input takes 1/);
});

test('errors: samples without a loser, DPO with tap losses attached', async () => {
  const onnx = await load();
  const model = new ImportedModel(onnx, 'test', MAPPING).withPairObjective(importedObjective({ objective: 'dpo', beta: 1 }));
  const plain = generateInMemory({ ...DEFAULT_CONFIG, seed: 4, kMin: 1, kMax: 1, dip: 'none' }, { train: 2 });
  assert.throws(() => model.trainingProgram(plain, { steps: 1 }), /train-0000000 carries no preference pair \(target \+ loser\)/);
  const tapped = { name: 'scal', weight: 1, settings: '{}', trace: () => null!, feeds: () => ({}), describe: () => 'SCAL' };
  const withTaps = new ImportedModel(onnx, 'test', { ...MAPPING, attention: [{ q: '/blocks.0/Gather_4_output_0', k: '/blocks.0/Gather_5_output_0' }] }).withTapLoss(tapped);
  assert.throws(() => withTaps.withPairObjective(importedObjective({ objective: 'dpo', beta: 1 })), /cannot replace flow matching while SCAL is attached/);
});

test('graphs/import-dpo.json runs headless: LoRA adapters trained by Flow-DPO, no reference copy in the weights file', async () => {
  const out = mkdtempSync(join(tmpdir(), 'tessera-import-dpo-'));
  try {
    const r = await cli('graphs/import-dpo.json', out);
    assert.is(r.code, 0, r.text);
    assert.match(r.text, /Diffusion-DPO β=2000 \(uniform W\)/);
    const history = JSON.parse(readFileSync(join(out, 'model', 'history.json'), 'utf8')) as { loss: number; acc: number; margin: number }[];
    assert.is(history.length, 30);
    // Policy = reference at the first step: loss ln 2, margin 0 (up to rounding).
    assert.ok(Math.abs(history[0]!.loss - Math.LN2) < 1e-3 && Math.abs(history[0]!.margin) < 1e-2, JSON.stringify(history[0]));
    const mean = (hs: typeof history, k: 'loss' | 'margin') => hs.reduce((s, h) => s + h[k], 0) / hs.length;
    assert.ok(mean(history.slice(-10), 'margin') > mean(history.slice(0, 10), 'margin'), 'the margin grows');
    const file = await loadSafetensors(join(out, 'model', 'lora.safetensors'));
    const names = Object.keys(file.tensors);
    assert.ok(names.some((n) => n.endsWith('lora.blocks.0.qkv.B')), names.join(', '));
    assert.not.ok(names.some((n) => n.includes('ref.')), 'no reference copy in the weights file');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
