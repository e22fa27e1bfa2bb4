import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rm } from 'node:fs/promises';
import { AutoencoderModel } from '../../plugins/latent/AutoencoderModel.ts';
import { resolveConfig } from '../../plugins/latent/config.ts';
import { loadWeights } from '../../plugins/latent/loadWeights.ts';
import { targetMask } from '../../plugins/latent/subjectMask.ts';
import { listCheckpoints, manifestPath } from '../../plugins/train/checkpoints.ts';
import { runTraining, type TrainSettings } from '../../plugins/train/runTraining.ts';
import { tempDir } from '../semalign/helpers.ts';
import { samples, tiny } from './helpers.ts';

test('bundled weights: the small autoencoder reconstructs held-out subjects above 18 dB (bench/latent/eval.ts measured 19.9 on 192)', async () => {
  const config = resolveConfig('small');
  const model = new AutoencoderModel(config).withWeights(await loadWeights(new URL('../../plugins/latent/weights/ae-small.safetensors', import.meta.url).pathname, config));
  const data = samples(12, 'test');
  const rec = await model.decode(await model.encode(data.map((s) => s.target)));
  let sse = 0;
  let n = 0;
  data.forEach((s, i) => {
    const mask = targetMask(s);
    for (let p = 0; p < mask.length; p++) {
      if (!mask[p]) continue;
      for (let c = 0; c < 3; c++) sse += (s.target.data[3 * p + c]! - rec[i]!.data[3 * p + c]!) ** 2;
      n += 3;
    }
  });
  const psnr = 10 * Math.log10((255 * 255) / (sse / n));
  assert.ok(psnr > 18, `subject-pixel PSNR ${psnr.toFixed(2)} dB`);
});

test('resume is exact: a run resumed from its middle checkpoint ends with the uninterrupted run\'s weights and losses', async () => {
  const train = samples(8);
  const model = new AutoencoderModel(tiny).withLoss({ subject: 1, background: 0.2 });
  const s: TrainSettings = { steps: 12, batchSize: 3, lr: 3e-3, schedule: 'cosine', warmupSteps: 2, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, clipGradNorm: 1, ema: 0, checkpointEvery: 6, keep: 5, resume: true, seed: 2 };
  const dir = tempDir('latent-resume');
  const full = await runTraining(model.trainingProgram(train, { steps: 12 }), s, dir);
  // Drop the final checkpoint: the next run finds step 6 and continues from there.
  const last = (await listCheckpoints(dir)).at(-1)!;
  assert.is(last.step, 12);
  await rm(manifestPath(last.path));
  await rm(last.path);
  const resumed = await runTraining(model.trainingProgram(train, { steps: 12 }), s, dir);
  assert.is(resumed.resumedFrom, 6);
  assert.equal(resumed.history.map((h) => h.loss), full.history.map((h) => h.loss));
  for (const [k, t] of Object.entries(full.params)) assert.equal(Array.from(resumed.params[k]!.data as Float32Array), Array.from(t.data as Float32Array), k);
  // Both image sizes were trained in these 12 steps (so both variants were rebuilt on resume).
  assert.ok(new Set(Array.from({ length: 12 }, (_, i) => model.trainingProgram(train, { steps: 12 }).batch(i, 3, 2).variant)).size === 2);
  // Another loss weighting cannot resume these checkpoints.
  await runTraining(model.withLoss({ subject: 1, background: 1 }).trainingProgram(train, { steps: 12 }), s, dir).then(
    () => assert.unreachable('resumed with other loss weights'),
    (e: Error) => assert.match(e.message, /loss weights differ/),
  );
});

test.run();
