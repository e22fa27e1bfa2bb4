// MosaicConfig.layoutPose: layout tokens that tell each subject's pose relative to its reference
// (and whether its layout is given at all), behind a flag so existing checkpoints are untouched.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Predictor, Tensor } from 'tessera/kernels';
import { buildBatch } from '../../plugins/mosaic/model/mosaicBatch.ts';
import { layoutDim, PRESETS, resolveConfig, type MosaicConfig } from '../../plugins/mosaic/model/MosaicConfig.ts';
import { expectedParams, loadWeights } from '../../plugins/mosaic/model/loadWeights.ts';
import { MosaicModel } from '../../plugins/mosaic/model/MosaicModel.ts';
import { velocityProgram } from '../../plugins/mosaic/model/mosaicPrograms.ts';
import { timeFeatures } from '../../plugins/mosaic/model/positionFeatures.ts';
import { runTraining, type TrainSettings } from '../../plugins/train/runTraining.ts';
import type { SemAlignSample } from '../../plugins/semalign/sample.ts';
import { fixtures, tempDir } from '../semalign/helpers.ts';
import { perturbedWeights, rejects } from './helpers.ts';

const tinyPose = resolveConfig('tiny', { layoutPose: true });

/** The sample with one subject's annotation changed. */
const withSubject = (s: SemAlignSample, slot: number, change: Record<string, unknown>): SemAlignSample => ({
  ...s,
  annotation: { ...s.annotation, subjects: s.annotation.subjects.map((x) => (x.slot === slot ? { ...x, ...change } : x)) },
});

test('presets: layoutPose off in tiny/small, on in small-v2; missing in a checkpoint reads as off', () => {
  assert.is(PRESETS.tiny!.layoutPose, false);
  assert.is(PRESETS.small!.layoutPose, false);
  assert.is(PRESETS['small-v2']!.layoutPose, true);
  assert.is(layoutDim(PRESETS.small!), 4);
  assert.is(layoutDim(PRESETS['small-v2']!), 9);
  assert.throws(() => resolveConfig('tiny', { layoutPose: 'yes' as never }), /layoutPose must be true or false/);
  const off = expectedParams(resolveConfig('tiny'));
  const on = expectedParams(tinyPose);
  assert.equal([...on.keys()].filter((k) => !off.has(k)), ['embed.pose_w'], 'the flag adds exactly one parameter');
  assert.equal(on.get('embed.pose_w'), [5, tinyPose.width]);
});

test('buildBatch with layoutPose: box, cos/sin of the rotation, mirror sign, ln scale, given; a dropped layout is zeros with no box coverage', () => {
  const [s] = fixtures(1, [3], { maxRotationDeg: 90 }, 'train');
  const sample = s!;
  const b = buildBatch([sample], tinyPose);
  assert.equal(b.boxes.shape, [1, 3, 9]);
  const d = b.boxes.data as Float32Array;
  sample.annotation.subjects.forEach((sub) => {
    const f = Array.from(d.subarray(sub.slot * 9, sub.slot * 9 + 9));
    const t = (sub.relativePose.rotationDeg * Math.PI) / 180;
    const want = [...sub.box.map((v) => v / 64), Math.cos(t), Math.sin(t), sub.relativePose.flip ? -1 : 1, Math.log(sub.relativePose.scale), 1];
    want.forEach((w, j) => assert.ok(Math.abs(f[j]! - w) < 1e-6, `slot ${sub.slot} feature ${j}: ${f[j]} vs ${w}`));
  });
  // Layout dropout: slot 1's features and box coverage vanish; the others are untouched.
  const dropped = withSubject(sample, 1, { layoutDropped: true });
  for (const c of [tinyPose, resolveConfig('tiny')]) {
    const F = layoutDim(c);
    const full = buildBatch([sample], c);
    const drop = buildBatch([dropped], c);
    const fd = drop.boxes.data as Float32Array;
    assert.ok(fd.subarray(F, 2 * F).every((v) => v === 0), `${c.preset}: dropped layout must be zeros`);
    assert.equal(Array.from(fd.subarray(0, F)), Array.from((full.boxes.data as Float32Array).subarray(0, F)));
    const bm = drop.boxmap.data as Float32Array;
    const fm = full.boxmap.data as Float32Array;
    let had = 0;
    for (let v = 0; v < 256; v++) {
      assert.is(bm[v * 3 + 1], 0, `${c.preset}: dropped subject keeps no box coverage`);
      assert.is(bm[v * 3], fm[v * 3]);
      if (fm[v * 3 + 1]! > 0) had++;
    }
    assert.ok(had > 0);
  }
});

async function velocity(c: MosaicConfig, params: Record<string, Tensor>, sample: SemAlignSample): Promise<Float32Array> {
  const b = buildBatch([sample], c);
  const p = await Predictor.create(velocityProgram(c, b.k, 1), params);
  const xt = new Tensor('float32', b.x0.shape, Float32Array.from(b.x0.data as Float32Array, (v, i) => 0.5 * v + 0.5 * Math.sin(i * 7.13)));
  const r = await p.run({ xt, refs: b.refs, boxes: b.boxes, boxmap: b.boxmap, tfeat: timeFeatures([0.6], c.width) });
  await p.dispose();
  return r.velocity!.data as Float32Array;
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('with layoutPose the network takes the pose: changing only one subject’s rotation or mirror changes the velocity; without it nothing moves', async () => {
  const samples = fixtures(2, [2], {}, 'train');
  const s = samples[0]!;
  const rel = s.annotation.subjects[0]!.relativePose;
  const turned = withSubject(s, 0, { relativePose: { ...rel, rotationDeg: rel.rotationDeg + 30 } });
  const mirrored = withSubject(s, 0, { relativePose: { ...rel, flip: !rel.flip } });
  const on = await perturbedWeights(tinyPose, samples, 0.06, 99);
  const base = await velocity(tinyPose, on, s);
  assert.ok(maxDiff(base, await velocity(tinyPose, on, turned)) > 1e-4, 'rotation must reach the output');
  assert.ok(maxDiff(base, await velocity(tinyPose, on, mirrored)) > 1e-4, 'mirror must reach the output');
  assert.is(maxDiff(base, await velocity(tinyPose, on, s)), 0, 'same input, same output');
  const off = resolveConfig('tiny');
  const offParams = await perturbedWeights(off, samples, 0.06, 99);
  const offBase = await velocity(off, offParams, s);
  assert.is(maxDiff(offBase, await velocity(off, offParams, turned)), 0, 'layoutPose off: the pose is not an input');
});

test('small-v2 refuses the bundled (layoutPose-less) checkpoint naming the field; small still loads it', async () => {
  const ckpt = 'plugins/mosaic/weights/mosaic-small.safetensors';
  await loadWeights(ckpt, resolveConfig('small'));
  await rejects(loadWeights(ckpt, resolveConfig('small-v2')), /layoutPose: false in the checkpoint, true in the model/);
});

test('tiny with layoutPose trains on overlapping subjects with layout dropout: finite, the loss falls, the checkpoint loads back', async () => {
  const samples = fixtures(16, [2, 3], { overlap: 0.5, layoutDropout: 0.25 }, 'train');
  assert.ok(samples.some((s) => s.annotation.subjects.some((x) => x.layoutDropped)), 'some layouts are dropped');
  const settings: TrainSettings = { steps: 40, batchSize: 2, lr: 3e-3, schedule: 'constant', warmupSteps: 0, weightDecay: 0, beta1: 0.9, beta2: 0.999, clipGradNorm: 1, ema: 0, checkpointEvery: 0, keep: 2, resume: false, seed: 3 };
  const r = await runTraining(new MosaicModel(tinyPose).trainingProgram(samples, { steps: 40 }), settings, tempDir('mosaic-pose-train'));
  for (const row of r.history) assert.ok(Number.isFinite(row.loss), `step ${row.step}: loss ${row.loss}`);
  const mean = (rows: typeof r.history) => rows.reduce((a, x) => a + x.loss!, 0) / rows.length;
  const first = mean(r.history.slice(0, 8));
  const last = mean(r.history.slice(-8));
  assert.ok(last < first * 0.97, `loss did not fall: ${first.toFixed(4)} → ${last.toFixed(4)}`);
  const loaded = await loadWeights(r.checkpoint, tinyPose);
  assert.ok(loaded.params['embed.pose_w'], 'the pose embedding is saved');
  await rejects(loadWeights(r.checkpoint, resolveConfig('tiny')), /layoutPose: true in the checkpoint, false in the model/);
});

test.run();
