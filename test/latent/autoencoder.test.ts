import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { saveParamsFile } from 'tessera/kernels';
import { AutoencoderModel } from '../../plugins/latent/AutoencoderModel.ts';
import { CONFIG_KEY } from '../../plugins/latent/AutoencoderTrainingProgram.ts';
import { resolveConfig } from '../../plugins/latent/config.ts';
import { loadWeights } from '../../plugins/latent/loadWeights.ts';
import { pixelWeights } from '../../plugins/latent/loss.ts';
import { maskedImages, referenceMask } from '../../plugins/latent/subjectMask.ts';
import { runTraining, type TrainSettings } from '../../plugins/train/runTraining.ts';
import { tempDir } from '../semalign/helpers.ts';
import { rejects } from '../mosaic/helpers.ts';
import { initialWeights, samples, tiny } from './helpers.ts';

const settings = (over: Partial<TrainSettings> = {}): TrainSettings => ({
  steps: 20, batchSize: 4, lr: 3e-3, schedule: 'cosine', warmupSteps: 5, weightDecay: 0, beta1: 0.9, beta2: 0.999,
  clipGradNorm: 1, ema: 0, checkpointEvery: 0, keep: 1, resume: false, seed: 3, ...over,
});

/** Mean squared error over all pixels of two equal-sized image lists, in bytes². */
function mse(a: readonly { data: Uint8Array }[], b: readonly { data: Uint8Array }[]): number {
  let s = 0;
  let n = 0;
  a.forEach((im, i) => im.data.forEach((v, j) => ((s += (v - b[i]!.data[j]!) ** 2), n++)));
  return s / n;
}

test('shapes: 64×64 targets → [N, 4, 16, 16], 32×32 references → [n, 4, 8, 8], and back to images of the same size', async () => {
  const model = new AutoencoderModel(tiny).withWeights({ params: await initialWeights(), source: 'init', step: 0 });
  const data = samples(3);
  const z = await model.encode(data.map((s) => s.target));
  assert.equal(z.shape, [3, 4, 16, 16]);
  const refs = data.flatMap((s) => [...s.refs]);
  const zr = await model.encode(refs);
  assert.equal(zr.shape, [refs.length, 4, 8, 8]);
  const back = await model.decode(z);
  assert.equal(back.map((i) => [i.width, i.height, i.channels, i.data.length]), data.map(() => [64, 64, 3, 64 * 64 * 3]));
  assert.equal((await model.decode(zr)).map((i) => i.width), refs.map(() => 32));
  // The training program sees one variant per image size, targets first.
  assert.equal(model.trainingProgram(data, { steps: 1 }).variants, ['64x64', '32x32']);
});

test('a short real training improves the encode → decode round trip on held-out identities', async () => {
  const train = samples(24);
  const heldOut = samples(6, 'test').map((s) => s.target);
  const model = new AutoencoderModel(tiny).withLoss({ subject: 1, background: 0.2 });
  const before = model.withWeights({ params: await initialWeights(3), source: 'init', step: 0 });
  const r = await runTraining(model.trainingProgram(train, { steps: 120 }), settings({ steps: 120, batchSize: 8 }), tempDir('latent-train'));
  const after = model.withWeights({ params: r.params, source: 'trained', step: r.step });
  const e0 = mse(await before.decode(await before.encode(heldOut)), heldOut);
  const e1 = mse(await after.decode(await after.encode(heldOut)), heldOut);
  assert.ok(e1 < 0.5 * e0, `held-out MSE ${e0.toFixed(0)} → ${e1.toFixed(0)} (bytes²)`);
  const first = r.history.slice(0, 10).reduce((a, h) => a + h.loss, 0);
  const last = r.history.slice(-10).reduce((a, h) => a + h.loss, 0);
  assert.ok(last < 0.5 * first, `training loss ${first / 10} → ${last / 10}`);
});

test('determinism: same data, settings and seed → identical losses and weights; encoding is repeatable', async () => {
  const train = samples(8);
  const model = new AutoencoderModel(tiny).withLoss({ subject: 1, background: 0.2 });
  const a = await runTraining(model.trainingProgram(train, { steps: 12 }), settings({ steps: 12 }), tempDir('latent-det-a'));
  const b = await runTraining(model.trainingProgram(train, { steps: 12 }), settings({ steps: 12 }), tempDir('latent-det-b'));
  assert.equal(a.history.map((h) => h.loss), b.history.map((h) => h.loss));
  for (const [k, t] of Object.entries(a.params)) assert.ok(Buffer.from((t.data as Float32Array).buffer).equals(Buffer.from((b.params[k]!.data as Float32Array).buffer)), k);
  const trained = model.withWeights({ params: a.params, source: 'a', step: 12 });
  const imgs = train.map((s) => s.target);
  assert.equal(Array.from((await trained.encode(imgs)).data as Float32Array), Array.from((await trained.encode(imgs)).data as Float32Array));
  // A different seed trains differently (the comparison above can fail).
  const c = await runTraining(model.trainingProgram(train, { steps: 12 }), settings({ steps: 12, seed: 4 }), tempDir('latent-det-c'));
  assert.not.equal(c.history.map((h) => h.loss), a.history.map((h) => h.loss));
});

test('subject masks and loss weights: label map for targets, non-white pixels for references', () => {
  const [s] = samples(1);
  const items = maskedImages([s!]);
  assert.is(items.length, 1 + s!.refs.length);
  const subjectPixels = s!.annotation.subjects.reduce((a, x) => a + x.pixels, 0);
  assert.is(items[0]!.mask.reduce((a, v) => a + v, 0), subjectPixels);
  const ref = s!.refs[0]!;
  const m = referenceMask(ref);
  const white = Array.from(m).filter((v, p) => v === 0 && ref.data[3 * p] === 255 && ref.data[3 * p + 1] === 255 && ref.data[3 * p + 2] === 255).length;
  assert.is(white, m.length - m.reduce((a, v) => a + v, 0));
  assert.ok(m.reduce((a, v) => a + v, 0) > 100);
  const { w, m: mt } = pixelWeights([items[0]!], { subject: 1, background: 0.2 });
  assert.equal(w.shape, [1, 1, 64, 64]);
  assert.ok(Array.from(w.data as Float32Array).every((v, p) => (items[0]!.mask[p] ? v === 1 : Math.abs(v - 0.2) < 1e-7)));
  assert.is(Array.from(mt.data as Float32Array).reduce((a, v) => a + v, 0), subjectPixels);
});

test('bad input: a wrong image size is refused before any session is built', async () => {
  // Empty weights: building a session would fail with "parameters do not match"; the size check comes first.
  const model = new AutoencoderModel(tiny).withWeights({ params: {}, source: 'none', step: 0 });
  const odd = { width: 30, height: 30, channels: 3 as const, data: new Uint8Array(30 * 30 * 3) };
  await rejects(model.encode([odd]), /image 0 is 30×30; both sides must be positive multiples of 4/);
  const [s] = samples(1);
  await rejects(model.encode([s!.target, s!.refs[0]!]), /image 1 is 32×32, image 0 is 64×64; a batch must be one size/);
  await rejects(model.encode([{ width: 8, height: 8, channels: 1 as const, data: new Uint8Array(64) }]), /1 channel/);
  await rejects(model.decode({ shape: [1, 3, 4, 4], data: new Float32Array(48) }), /latents must be \[N, 4, h, w\], got \[1, 3, 4, 4\]/);
  await rejects(model.decode({ shape: [1, 4, 4, 4], data: new Float32Array(5) }), /hold 5 values/);
  // Training data: a reference of the wrong size stops the program before a Trainer exists.
  const bad = { ...s!, refs: [odd] };
  assert.throws(() => model.trainingProgram([bad], { steps: 1 }), /30×30; both sides must be positive multiples of 4/);
  assert.throws(() => model.withLoss({ subject: 0, background: 0 }).trainingProgram([s!], { steps: 1 }), /not both 0/);
  assert.throws(() => model.trainingProgram({}, { steps: 1 }), /SEMALIGN_SAMPLES/);
});

test('a checkpoint from another config is refused, naming the differences; a matching one loads', async () => {
  const dir = tempDir('latent-ckpt');
  const file = join(dir, 'tiny.safetensors');
  await saveParamsFile(file, await initialWeights(), { [CONFIG_KEY]: JSON.stringify(tiny) });
  const w = await loadWeights(file, tiny);
  assert.ok(Object.keys(w.params).some((k) => k.startsWith('enc.')) && Object.keys(w.params).some((k) => k.startsWith('dec.')));
  await rejects(loadWeights(file, resolveConfig('small')), /trained with preset 'tiny', the Autoencoder node asks for 'small':\n {2}channels: \[4,8,8\] in the checkpoint, \[16,48,64\] in the model\n {2}latentChannels: 4 in the checkpoint, 8 in the model/);
  // Same recorded config, other tensors: every mismatch is named.
  const other = join(dir, 'other.safetensors');
  const params = await initialWeights();
  delete params['dec.out.w'];
  await saveParamsFile(other, params, { [CONFIG_KEY]: JSON.stringify(tiny) });
  await rejects(loadWeights(other, tiny), /missing 'dec.out.w'/);
  const foreign = join(dir, 'foreign.safetensors');
  await saveParamsFile(foreign, params, { model: 'mosaic' });
  await rejects(loadWeights(foreign, tiny), /not an autoencoder checkpoint/);
  // train/Train's resume check reads the same config.
  const prog = new AutoencoderModel(resolveConfig('small')).trainingProgram(samples(1), { steps: 1 });
  assert.match(prog.checkMetadata({ [CONFIG_KEY]: JSON.stringify(tiny) }).join('\n'), /channels: \[4,8,8\] in the checkpoint/);
});

test.run();
