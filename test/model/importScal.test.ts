// MOSAIC's SCAL on imported models (mosaic/SCALoss through tessera/model's tap-loss interface):
// the training step's SCAL and flow loss equal an independent computation — the export replayed
// alone on [noised targets; clean references] with the condition rows spelled out, q/k read by
// ONNX name, heads split and the correspondence map built on the host (mosaic's reference
// implementation) — for the UNet fixture (rank-3 q/k split into 2 heads, a reference-image
// condition) and the tiny DiT (rank-4 q/k at two blocks, K = 2). Plus the errors a user meets.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { OnnxModel } from '../../kernels/index.ts';
import { scalReference, scalTapLoss } from '../../plugins/mosaic/index.ts';
import type { SemAlignSample } from '../../plugins/semalign/index.ts';
import { ImportedModel, type ModelMapping } from '../../plugins/model/index.ts';
import { DIT, UNET, load, replayStep, samples } from './tapStep.ts';

/** Checks one training step of `model` + SCAL against the export replayed alone and SCAL on the host. */
async function checkStep(onnx: OnnxModel, mapping: ModelMapping, data: SemAlignSample[], B: number): Promise<void> {
  const model = new ImportedModel(onnx, 'test', mapping).withTapLoss(scalTapLoss({ alpha: 0.4, mode: 'reference' }));
  assert.equal(model.trainingProgram(data, { steps: 1 }).metrics, ['flow', 'scal']);
  const { got, feeds: f, flow, map, dims } = await replayStep(onnx, mapping, model, data, B);
  assert.ok(Math.abs(got.flow!.item() - flow) < 1e-4 * flow, `flow ${got.flow!.item()} vs ${flow}`);
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
