// MOSAIC's MDL on imported models (mosaic/MDLoss through tessera/model's tap-loss interface): one
// training step's MDL on the tiny DiT (two blocks' rank-4 q/k, K = 2) equals a host calculation —
// the export replayed alone, the correspondence map on the host, each reference's rows pooled by
// weights built here from the annotations, and mosaic's host divergence — for the paper preset
// (symmetric KL over annotated points) and the code preset (JSD over all tokens, β warmed up over
// the run's steps). A K = 1 batch trains without MDL, as on the built-in model.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph, type Tensor } from '../../kernels/index.ts';
import { LOSS_PRESETS, mdlReference, mdlTapLoss, scalReference, scalTapLoss } from '../../plugins/mosaic/index.ts';
import type { SemAlignSample } from '../../plugins/semalign/index.ts';
import { ImportedModel } from '../../plugins/model/index.ts';
import { DIT, load, replayStep, samples } from './tapStep.ts';

const GRID = { patchSize: 16, refPatchSize: 8 };
const PAPER = { beta: LOSS_PRESETS.paper.beta, warmupStart: 0, rampSteps: 0, mode: LOSS_PRESETS.paper.mdlMode, distance: LOSS_PRESETS.paper.distance };
const CODE = { beta: LOSS_PRESETS.code.beta, warmupStart: 0, rampSteps: 0, fractions: { start: LOSS_PRESETS.code.warmupStartFraction, ramp: LOSS_PRESETS.code.rampFraction }, mode: LOSS_PRESETS.code.mdlMode, distance: LOSS_PRESETS.code.distance };

/** Row pooling [B, K, K·L] from the annotations: 1/P on reference k's annotated rows ('points', all rows when it has none), else 1/L. */
function poolingFromAnnotations(picked: readonly SemAlignSample[], mode: 'points' | 'tokens', L: number): Float64Array {
  const K = picked[0]!.refs.length;
  const out = new Float64Array(picked.length * K * K * L);
  picked.forEach((s, b) => {
    for (let k = 0; k < K; k++) {
      const annotated = s.annotation.correspondence.refToTarget[k]!.flatMap((v, u) => (v >= 0 ? [u] : []));
      const rows = mode === 'points' && annotated.length ? annotated : Array.from({ length: L }, (_, u) => u);
      for (const u of rows) out[(b * K + k) * K * L + k * L + u] = 1 / rows.length;
    }
  });
  return out;
}

test('tiny DiT, K = 2, paper preset: the step’s MDL (symmetric KL over annotated points) equals the host calculation; loss = flow + α·SCAL + β·MDL', async () => {
  const onnx = await load('tiny_dit_op17');
  const data = samples(2, GRID);
  const model = new ImportedModel(onnx, 'test', DIT).withTapLoss(scalTapLoss({ alpha: 0.4, mode: 'reference' })).withTapLoss(mdlTapLoss(PAPER));
  assert.equal(model.trainingProgram(data, { steps: 1 }).metrics, ['flow', 'scal', 'mdl']);
  const r = await replayStep(onnx, DIT, model, data, 2);
  assert.is(r.K, 2);
  const L = r.dims.R / r.K;
  const pool = poolingFromAnnotations(r.picked, 'points', L);
  assert.ok(pool.some((v) => v > 1 / L), 'some reference pools its annotated points only');
  assert.equal(Array.from(r.feeds['mdl.w']!.toArray()).map((v) => Math.fround(v)), Array.from(pool).map((v) => Math.fround(v)), 'the fed pooling is the annotations’');
  assert.is(r.feeds['mdl.ramp']!.item(), 1, 'paper: β constant from step 0');
  const mdl = mdlReference(r.map, pool, { ...r.dims, K: r.K }, 'skl');
  assert.ok(mdl < -1e-4, `MDL ${mdl} is a real (negative) value`);
  assert.ok(Math.abs(r.got.mdl!.item() - mdl) < 1e-4 * Math.abs(mdl) + 1e-6, `MDL ${r.got.mdl!.item()} vs host ${mdl}`);
  const scal = scalReference(r.map, Float64Array.from(r.feeds['scal.w']!.toArray()), r.dims);
  assert.ok(Math.abs(r.got.flow!.item() - r.flow) < 1e-4 * r.flow, 'flow');
  const total = r.flow + 0.4 * scal + 0.6 * mdl;
  assert.ok(Math.abs(r.got.loss!.item() - total) < 1e-4 * (r.flow + scal + Math.abs(mdl)), `loss ${r.got.loss!.item()} = flow + 0.4·SCAL + 0.6·MDL = ${total}`);
});

test('tiny DiT, K = 2, code preset: JSD over all tokens equals the host; β is 0 before 10 % of the run, ramps over 1 %, then 1', async () => {
  const onnx = await load('tiny_dit_op17');
  const data = samples(2, GRID);
  const model = new ImportedModel(onnx, 'test', DIT).withTapLoss(mdlTapLoss(CODE));
  // 200 steps: off before step 20, ramp over 2 steps (β 0.5 at step 21), 1 from step 22.
  const warm = await replayStep(onnx, DIT, model, data, 2, { step: 21, steps: 200 });
  const L = warm.dims.R / warm.K;
  const pool = poolingFromAnnotations(warm.picked, 'tokens', L);
  assert.equal(Array.from(warm.feeds['mdl.w']!.toArray()).map((v) => Math.fround(v)), Array.from(pool).map((v) => Math.fround(v)));
  const mdl = mdlReference(warm.map, pool, { ...warm.dims, K: warm.K }, 'jsd');
  assert.ok(mdl < -1e-5 && mdl >= -Math.log(2), `JSD-MDL ${mdl} in [−ln 2, 0)`);
  assert.ok(Math.abs(warm.got.mdl!.item() - mdl) < 1e-4 * Math.abs(mdl) + 1e-7, `MDL ${warm.got.mdl!.item()} vs host ${mdl}`);
  assert.ok(Math.abs(warm.got.loss!.item() - (warm.flow + 0.5 * mdl)) < 1e-4 * warm.flow, 'mid-ramp: loss = flow + 0.5·MDL');
  const program = model.trainingProgram(data, { steps: 200 });
  const ramp = (step: number) => (program.batch(step, 2, 5).feeds['mdl.ramp'] as Tensor).item();
  assert.equal([0, 19, 20, 21, 22, 199].map(ramp), [0, 0, 0, 0.5, 1, 1]);
  // Before the warm-up MDL is still computed and logged, but adds nothing.
  const off = await replayStep(onnx, DIT, model, data, 2, { step: 0, steps: 200 });
  assert.ok(off.got.mdl!.item() < 0);
  assert.ok(Math.abs(off.got.loss!.item() - off.flow) < 1e-5 * off.flow, 'before the warm-up: loss = flow');
});

test('K = 1: no MDL term (as on the built-in model): the step traces the targets alone, logs flow (and SCAL), feeds no MDL inputs', async () => {
  const onnx = await load('tiny_dit_op17');
  const one = samples(1, GRID, 4);
  const mdlOnly = new ImportedModel(onnx, 'test', DIT).withTapLoss(mdlTapLoss(PAPER)).trainingProgram(one, { steps: 10 });
  assert.equal(mdlOnly.metrics, ['flow'], 'no K ≥ 2 sample: MDL is never logged');
  const b = mdlOnly.batch(0, 2, 0);
  assert.is(b.variant, 'k1');
  assert.equal(b.metrics, ['flow']);
  assert.not.ok('mdl.w' in b.feeds || 'mdl.ramp' in b.feeds || 'refs' in b.feeds, Object.keys(b.feeds).join());
  const g = new Graph();
  const out = mdlOnly.modelFn('k1', 2)(g);
  assert.equal(Object.keys(out.outputs ?? {}), ['flow']);
  assert.is(out.loss, out.outputs!.flow, 'loss is the flow loss alone');
  assert.equal([...g.inputs.keys()].sort(), ['noise', 't', 'x0'], 'no reference rows or MDL inputs');

  // Mixed K with SCAL: the program logs MDL, a K = 1 batch does not (SCAL still trains).
  const mixed = [...one, ...samples(2, GRID, 4, 4)];
  const both = new ImportedModel(onnx, 'test', DIT).withTapLoss(scalTapLoss({ alpha: 0.4, mode: 'reference' })).withTapLoss(mdlTapLoss(PAPER)).trainingProgram(mixed, { steps: 10 });
  assert.equal(both.metrics, ['flow', 'scal', 'mdl']);
  const seen = new Map<string, readonly string[]>();
  for (let s = 0; s < 12; s++) {
    const batch = both.batch(s, 2, 0);
    seen.set(batch.variant, batch.metrics);
    assert.is('mdl.w' in batch.feeds, batch.variant === 'k2');
  }
  assert.equal(seen.get('k1'), ['flow', 'scal']);
  assert.equal(seen.get('k2'), ['flow', 'scal', 'mdl']);
  const r = await replayStep(onnx, DIT, new ImportedModel(onnx, 'test', DIT).withTapLoss(scalTapLoss({ alpha: 0.4, mode: 'reference' })).withTapLoss(mdlTapLoss(PAPER)), one, 2);
  assert.equal(Object.keys(r.got).sort(), ['flow', 'loss', 'scal']);
  const scal = scalReference(r.map, Float64Array.from(r.feeds['scal.w']!.toArray()), r.dims);
  assert.ok(Math.abs(r.got.loss!.item() - (r.flow + 0.4 * scal)) < 1e-4 * (r.flow + scal), 'K = 1: loss = flow + α·SCAL');
});

test('errors: a K = 1 sample whose grid does not fit is refused before training, as are MDL without named attention and settings that changed on resume', async () => {
  const onnx = await load('tiny_dit_op17');
  const mdl = mdlTapLoss(PAPER);
  assert.throws(() => new ImportedModel(onnx, 'test', { ...DIT, attention: [] }).withTapLoss(mdl), /MDL β=0\.6 .*needs the model's attention q\/k tensors/);
  // 8×8 target grid against the DiT's 4×4 tokens.
  assert.throws(() => new ImportedModel(onnx, 'test', DIT).withTapLoss(mdl).trainingProgram(samples(1, { patchSize: 8, refPatchSize: 8 }, 2), { steps: 1 }), /sample train-0000000 has a 8×8 target grid \(64 patches\), expected targetPatches = 16/);
  const data = samples(2, GRID, 2);
  const paper = new ImportedModel(onnx, 'test', DIT).withTapLoss(mdl).trainingProgram(data, { steps: 1 });
  const code = new ImportedModel(onnx, 'test', DIT).withTapLoss(mdlTapLoss(CODE)).trainingProgram(data, { steps: 1 });
  assert.match(code.checkMetadata(paper.metadata).join(), /attention losses differ: .*"name":"mdl","weight":0\.6,.*\\"distance\\":\\"skl\\".* in the checkpoint/);
  assert.equal(paper.checkMetadata(paper.metadata), []);
});

test.run();
