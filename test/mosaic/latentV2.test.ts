// MOSAIC v2 in the latent space (preset latent-tiny on the tiny autoencoder, 4 channels, down 4):
// latent patches, pose-warped reference positions, the subject share and the subject-weighted
// loss, config checks, mosaic/Model's autoencoder input, and train → resume → sample end to end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { collectRun, createEngine, createLogger } from 'tessera';
import { ops as o, Predictor, saveParamsFile, Tensor, Trainer } from 'tessera/kernels';
import { applyAffine } from 'tessera/semalign';
import { AutoencoderModel } from '../../plugins/latent/AutoencoderModel.ts';
import { CONFIG_KEY as AE_CONFIG_KEY } from '../../plugins/latent/AutoencoderTrainingProgram.ts';
import { AUTOENCODER_KEY, autoencoderHash, encodeSamples } from '../../plugins/mosaic/model/latentCache.ts';
import { loadWeights } from '../../plugins/mosaic/model/loadWeights.ts';
import { buildBatch, checkSamples, referencePositions, warpedTokenCentres } from '../../plugins/mosaic/model/mosaicBatch.ts';
import { configDifferences, dims, PRESETS, resolveConfig } from '../../plugins/mosaic/model/MosaicConfig.ts';
import { MosaicModel } from '../../plugins/mosaic/model/MosaicModel.ts';
import { trainingStepProgram, velocityProgram } from '../../plugins/mosaic/model/mosaicPrograms.ts';
import { patchifyLatent, unpatchifyLatent } from '../../plugins/mosaic/model/patches.ts';
import { positionFeatures, positionFeaturesAt, timeFeatures } from '../../plugins/mosaic/model/positionFeatures.ts';
import { eulerSample } from '../../plugins/mosaic/sampling/eulerSample.ts';
import { evaluations } from 'tessera/model';
import { builtinPlugins } from '../../plugins/index.ts';
import { runTraining, type TrainSettings } from '../../plugins/train/runTraining.ts';
import type { SemAlignSample } from '../../plugins/semalign/sample.ts';
import { fixtures, tempDir, testWorkspace } from '../semalign/helpers.ts';
import { initialWeights, tiny as aeTiny } from '../latent/helpers.ts';
import { perturbedWeights, rejects } from './helpers.ts';

const config = resolveConfig('latent-tiny');
const { n, l, grid, refGrid, patchDim } = dims(config);
/** Latent-space data: tokens are 2×2 latent cells = 8×8 pixels, so SemAlign annotates 8-pixel patches. */
const LATENT_DATA = { patchSize: 8, refPatchSize: 8 } as const;

const aeWith = async (seed: number) => new AutoencoderModel(aeTiny).withWeights({ params: await initialWeights(seed), source: `init seed ${seed}`, step: 0 });
const ae = await aeWith(1);

/** The sample with one subject's annotation changed. */
const withSubject = (s: SemAlignSample, slot: number, change: Record<string, unknown>): SemAlignSample => ({
  ...s,
  annotation: { ...s.annotation, subjects: s.annotation.subjects.map((x) => (x.slot === slot ? { ...x, ...change } : x)) },
});
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('presets: latent-tiny is 8×8 target / 4×4 reference tokens of 2×2×4 latent cells; latent-v2 fits the small autoencoder', () => {
  assert.equal([n, l, grid, refGrid, patchDim], [64, 16, 8, 4, 16]);
  assert.is(dims(config).tokenPixels, 8);
  assert.is(config.latentChannels, aeTiny.latentChannels);
  assert.is(config.latentDown, ae.factor);
  const v2 = PRESETS['latent-v2']!;
  assert.equal([v2.space, v2.latentChannels, v2.latentDown, v2.patch, v2.layoutPose, v2.refPositions], ['latent', 8, 4, 2, true, 'pose']);
});

test('patchifyLatent: a token holds its 2×2 cells in (row, column, channel) order times scale; unpatchifyLatent inverts it', () => {
  // 2 channels of a 4×4 grid, value 100·c + 10·y + x, so every entry says where it came from.
  const C = 2;
  const side = 4;
  const z = new Float32Array(C * side * side);
  for (let c = 0; c < C; c++) for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) z[c * 16 + y * 4 + x] = 100 * c + 10 * y + x;
  const tokens = new Float32Array(4 * 8 + 3).fill(-7);
  patchifyLatent(z, C, side, 2, 2, tokens, 3);
  assert.equal(Array.from(tokens.subarray(0, 3)), [-7, -7, -7], 'nothing written before the offset');
  // Token 1 = grid cell (row 0, column 1): cells (0,2), (0,3), (1,2), (1,3), each with channels 0, 1.
  assert.equal(Array.from(tokens.subarray(3 + 8, 3 + 16)), [2, 102, 3, 103, 12, 112, 13, 113].map((v) => 2 * v));
  // Token 2 = (row 1, column 0).
  assert.equal(Array.from(tokens.subarray(3 + 16, 3 + 24)), [20, 120, 21, 121, 30, 130, 31, 131].map((v) => 2 * v));
  const back = new Float32Array(z.length);
  unpatchifyLatent(tokens, C, side, 2, 2, back, 3);
  assert.equal(Array.from(back), Array.from(z));

  // Random latents at the real size, scale 1 and the v2 scale 1.87.
  const side16 = 16;
  const big = Float32Array.from({ length: 4 * side16 * side16 }, (_, i) => Math.sin(i * 12.9898) * 3);
  const t1 = new Float32Array(big.length);
  patchifyLatent(big, 4, side16, 2, 1, t1);
  const r1 = new Float32Array(big.length);
  unpatchifyLatent(t1, 4, side16, 2, 1, r1);
  assert.equal(Array.from(r1), Array.from(big), 'scale 1: exact');
  const t2 = new Float32Array(big.length);
  patchifyLatent(big, 4, side16, 2, 1.87, t2);
  const r2 = new Float32Array(big.length);
  unpatchifyLatent(t2, 4, side16, 2, 1.87, r2);
  // (z·s)/s through float32 is within one float32 rounding of z (not always bit-exact for s ≠ 2^k).
  big.forEach((v, i) => assert.ok(Math.abs(r2[i]! - v) <= Math.abs(v) * 2 ** -23, `cell ${i}: ${r2[i]} vs ${v}`));
  assert.ok(maxDiff(t2, t1) > 0.5, 'the scale is applied');
});

test('positionFeaturesAt: a point at a grid cell’s centre gets exactly that cell’s positionFeatures row; rows follow sin/cos of y then x', () => {
  const W = config.width;
  const table = positionFeatures(grid, grid, W).data as Float32Array;
  const points: number[] = [];
  for (let y = 0; y < grid; y++) for (let x = 0; x < grid; x++) points.push(x + 0.5, y + 0.5);
  const at = new Float32Array(grid * grid * W + 5).fill(9);
  positionFeaturesAt(points, W, at, 5);
  assert.equal(Array.from(at.subarray(5)), Array.from(table));
  // An independent float64 formula for cell (row 3, column 6).
  const q = W / 4;
  const row = Array.from(table.subarray((3 * grid + 6) * W, (3 * grid + 7) * W));
  const want = [...Array.from({ length: q }, (_, i) => Math.sin(3.5 / 100 ** (i / q))), ...Array.from({ length: q }, (_, i) => Math.cos(3.5 / 100 ** (i / q))), ...Array.from({ length: q }, (_, i) => Math.sin(6.5 / 100 ** (i / q))), ...Array.from({ length: q }, (_, i) => Math.cos(6.5 / 100 ** (i / q)))];
  assert.ok(maxDiff(row, want) < 1e-6, `row (3, 6) differs from the formula by ${maxDiff(row, want)}`);
  // The stretched reference grid: reference cell (u, v) sits at ((u + 0.5)·s, (v + 0.5)·s) target units.
  const s = grid / refGrid;
  const ref = positionFeatures(refGrid, refGrid, W, s).data as Float32Array;
  const one = new Float32Array(W);
  positionFeaturesAt([(1 + 0.5) * s, (2 + 0.5) * s], W, one);
  assert.equal(Array.from(one), Array.from(ref.subarray((2 * refGrid + 1) * W, (2 * refGrid + 2) * W)));
});

test('warpedTokenCentres: the annotation’s exact refToTarget affine at each reference token centre (rotated, mirrored, overlapping subjects); a dropped layout is null and gets the plain grid', () => {
  const samples = [...fixtures(6, [2, 3], { ...LATENT_DATA, maxRotationDeg: 90, flipProb: 0.5 }, 'train'), ...fixtures(6, [2, 3], { ...LATENT_DATA, maxRotationDeg: 90, overlap: 0.5 }, 'train')];
  const subs = samples.flatMap((s) => s.annotation.subjects);
  assert.ok(subs.some((x) => x.relativePose.flip) && subs.some((x) => !x.relativePose.flip), 'mirrored and unmirrored subjects');
  assert.ok(subs.some((x) => Math.abs(x.relativePose.rotationDeg) > 20), 'strongly rotated subjects');
  let worst = 0;
  let spread = 0;
  for (const sub of subs) {
    const c = warpedTokenCentres(sub, config)!;
    assert.is(c.length, l * 2);
    for (let u = 0; u < l; u++) {
      const [tx, ty] = applyAffine(sub.refToTarget, ((u % refGrid) + 0.5) * 8, (Math.floor(u / refGrid) + 0.5) * 8);
      worst = Math.max(worst, Math.abs(c[2 * u]! - tx / 8), Math.abs(c[2 * u + 1]! - ty / 8));
    }
    spread = Math.max(spread, Math.abs(c[0]! - c[2 * (l - 1)]!));
  }
  assert.ok(worst < 1e-9, `warped centres differ from refToTarget by ${worst} target tokens`);
  assert.ok(spread > 0.5, 'the warp moves tokens apart (not a constant)');

  // Slot 1's layout dropped: null, and its refpos rows are the reference's own stretched grid.
  const s = samples[0]!;
  const dropped = withSubject(s, 1, { layoutDropped: true });
  assert.is(warpedTokenCentres(dropped.annotation.subjects[1]!, config), null);
  const W = config.width;
  const out = new Float32Array(2 * l * W).fill(Number.NaN);
  referencePositions(dropped, config, out, 0);
  const plain = positionFeatures(refGrid, refGrid, W, grid / refGrid).data as Float32Array;
  assert.equal(Array.from(out.subarray(l * W)), Array.from(plain), 'dropped slot: the plain grid');
  const warped = new Float32Array(l * W);
  positionFeaturesAt(warpedTokenCentres(s.annotation.subjects[0]!, config)!, W, warped);
  assert.equal(Array.from(out.subarray(0, l * W)), Array.from(warped), 'given slot: its warped positions');
  assert.ok(maxDiff(warped, plain) > 0.1, 'warped positions differ from the plain grid');
  // buildBatch carries the same rows as refpos.
  const b = buildBatch([dropped], config, () => ({ target: new Float32Array(4 * 16 * 16), refs: [new Float32Array(4 * 8 * 8), new Float32Array(4 * 8 * 8)] }));
  assert.equal(b.refpos!.shape, [1, 2 * l, W]);
  assert.equal(Array.from(b.refpos!.data as Float32Array), Array.from(out));
});

test('buildBatch in latent space: x0 and refs are patchifyLatent of the encoded latents × latentScale; subject share counted from the label map', async () => {
  const scaled = resolveConfig('latent-tiny', { latentScale: 1.87 });
  const samples = fixtures(3, [2], LATENT_DATA, 'train');
  const lookup = await encodeSamples(ae, samples);
  const direct = await ae.encode(samples.map((s) => s.target));
  const b = buildBatch(samples, scaled, lookup);
  assert.equal(b.x0.shape, [3, n, patchDim]);
  assert.equal(b.refs.shape, [3, 2 * l, patchDim]);
  const want = new Float32Array(3 * n * patchDim);
  const per = 4 * 16 * 16;
  for (let i = 0; i < 3; i++) patchifyLatent((direct.data as Float32Array).subarray(i * per, (i + 1) * per), 4, 16, 2, 1.87, want, i * n * patchDim);
  assert.equal(Array.from(b.x0.data as Float32Array), Array.from(want), 'targets: the autoencoder’s latents of the target images');
  const refZ = await ae.encode([samples[2]!.refs[1]!]);
  const wantRef = new Float32Array(l * patchDim);
  patchifyLatent(refZ.data as Float32Array, 4, 8, 2, 1.87, wantRef);
  const got = (b.refs.data as Float32Array).subarray((2 * 2 * l + l) * patchDim, (2 * 2 * l + 2 * l) * patchDim);
  assert.equal(Array.from(got), Array.from(wantRef), 'sample 2, reference 1');
  assert.ok(maxDiff(want, buildBatch(samples, config, lookup).x0.data as Float32Array) > 1e-3, 'latentScale is applied');

  // The subject share of a token partly on a subject: a direct count of label > 0 pixels.
  const share = b.subject.data as Float32Array;
  assert.equal(b.subject.shape, [3, n]);
  const label = samples[1]!.label;
  const idx = Array.from(share.subarray(n, 2 * n)).findIndex((v) => v > 0 && v < 1);
  assert.ok(idx >= 0, 'some token is partly on a subject');
  const gy = Math.floor(idx / grid);
  const gx = idx % grid;
  let on = 0;
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) if (label.data[(gy * 8 + y) * 64 + gx * 8 + x]! > 0) on++;
  assert.is(share[n + idx], on / 64);
  const total = samples[1]!.annotation.subjects.reduce((a, x) => a + x.pixels, 0);
  const sum = Array.from(share.subarray(n, 2 * n)).reduce((a, v) => a + v * 64, 0);
  assert.ok(Math.abs(sum - total) < 1e-3, `shares add up to the subjects' pixels: ${sum} vs ${total}`);
});

test('latent configs refuse: a batch without latents, data annotated on 4-pixel patches (hint: patchSize 8)', () => {
  const samples = fixtures(2, [1], LATENT_DATA, 'train');
  assert.throws(() => buildBatch(samples, config), /latent-tiny works in the autoencoder's latent space; its samples must be encoded first \(wire a latent\/Autoencoder into mosaic\/Model\)/);
  const pixelData = fixtures(2, [1], {}, 'train');
  assert.throws(() => checkSamples(pixelData, config), /correspondences are annotated on a 16×16 target \/ 8×8 reference grid, but latent-tiny's tokens are 8×8 \/ 4×4 \(generate the data with patchSize = refPatchSize = 8\)/);
  assert.throws(() => buildBatch(pixelData, config, () => { throw new Error('not reached'); }), /patchSize = refPatchSize = 8/);
  checkSamples(samples, config);
  // The pixel presets are unchanged: 4-pixel data fits tiny.
  checkSamples(pixelData, resolveConfig('tiny'));
});

// ——— the subject-weighted flow loss ———

const settings = (over: Partial<TrainSettings> = {}): TrainSettings => ({ steps: 6, batchSize: 2, lr: 3e-3, schedule: 'constant', warmupSteps: 0, weightDecay: 0, beta1: 0.9, beta2: 0.999, clipGradNorm: 1, ema: 0, checkpointEvery: 0, keep: 3, resume: false, seed: 5, ...over });

test('subject-weighted loss: the traced diffusion output equals a float64 Σ w·mean_p(err²) / Σ w with the in-graph noise; tokw = 1 is the plain mean', async () => {
  const B = 2;
  const K = 2;
  const samples = fixtures(2, [K], { ...LATENT_DATA, overlap: 0.3 }, 'train');
  const model = new MosaicModel(config).withAutoencoder(ae).withTerm({ kind: 'subject', background: 0.2 });
  const prog = model.trainingProgram(samples, { steps: 1 });
  await prog.prepare!();
  const params = await perturbedWeights(config, samples, 0.05, 11, ae);
  const batch = buildBatch(samples, config, await encodeSamples(ae, samples));
  const t = [0.35, 0.8];
  const feeds: Record<string, Tensor> = { x0: batch.x0, refs: batch.refs, boxes: batch.boxes, boxmap: batch.boxmap, refpos: batch.refpos!, t: Tensor.from(t, [B]), tfeat: timeFeatures(t, config.width) };
  const SEED = 3;
  const weighted = await Trainer.create(trainingStepProgram(config, K, B, { scal: false, mdl: null, tapBlocks: [], subjectWeighted: true }), { seed: SEED });
  const plain = await Trainer.create(trainingStepProgram(config, K, B, { scal: false, mdl: null, tapBlocks: [], subjectWeighted: false }), { seed: SEED });
  weighted.setParams(params);
  plain.setParams(params);
  const diffusion = async (tokw: Float32Array) => (await weighted.evaluate({ ...feeds, tokw: new Tensor('float32', [B, n], tokw) }, ['diffusion'])).diffusion!.item();

  // The step graph's noise: its only random op, keyed by the trainer's first step seed.
  const noiseP = await Predictor.create((g) => ({ noise: o.randomNormal(g, [B, n, patchDim]) }), {});
  const eps = (await noiseP.run({ seed: Tensor.scalar(BigInt(SEED) * 1_000_003n, 'int64') })).noise!.data as Float32Array;
  await noiseP.dispose();
  const x0 = batch.x0.data as Float32Array;
  const xt = Float32Array.from(x0, (v, i) => (1 - t[Math.floor(i / (n * patchDim))]!) * v + t[Math.floor(i / (n * patchDim))]! * eps[i]!);
  const vp = await Predictor.create(velocityProgram(config, K, B), params);
  const { refs, boxes, boxmap, refpos, tfeat } = feeds;
  const v = (await vp.run({ xt: new Tensor('float32', [B, n, patchDim], xt), refs: refs!, boxes: boxes!, boxmap: boxmap!, refpos: refpos!, tfeat: tfeat! })).velocity!.data as Float32Array;
  await vp.dispose();
  const perToken = new Float64Array(B * n);
  for (let j = 0; j < B * n; j++) {
    let m = 0;
    for (let p = 0; p < patchDim; p++) {
      const i = j * patchDim + p;
      m += (v[i]! - (eps[i]! - x0[i]!)) ** 2;
    }
    perToken[j] = m / patchDim;
  }
  const mean = perToken.reduce((a, x) => a + x, 0) / (B * n);
  // Uneven weights, heavier on the tokens with large errors and zero on some, so the weighted
  // loss is far from the plain mean.
  const w = Float32Array.from(perToken, (e, j) => (j % 7 === 0 ? 0 : e > mean ? 1 : 0.05 + (j % 3) * 0.1));
  let num = 0;
  let den = 0;
  perToken.forEach((e, j) => {
    num += w[j]! * e;
    den += w[j]!;
  });
  const want = num / den;
  const got = await diffusion(w);
  assert.ok(Math.abs(got - want) < 1e-5 * want, `weighted diffusion ${got}, float64 reference ${want}`);
  assert.ok(Math.abs(want - mean) > 0.02 * mean, `the weights matter for this input (${want} vs plain ${mean})`);
  // tokw = 1 everywhere: the plain mean of the unweighted program (same noise, same weights).
  const ones = await diffusion(new Float32Array(B * n).fill(1));
  const unweighted = (await plain.evaluate(feeds, ['diffusion'])).diffusion!.item();
  assert.ok(Math.abs(ones - unweighted) < 1e-6 * unweighted, `tokw = 1: ${ones} vs the plain program ${unweighted}`);
  assert.ok(Math.abs(unweighted - mean) < 1e-5 * mean, `plain program ${unweighted} vs float64 mean ${mean}`);
  // Only token 70 weighted (sample 1): exactly that token's error, whatever its weight.
  const single = new Float32Array(B * n);
  single[70] = 0.3;
  const one = await diffusion(single);
  assert.ok(Math.abs(one - perToken[70]!) < 1e-5 * perToken[70]!, `one token: ${one} vs ${perToken[70]}`);
  // No weight at all (background 0, no subject pixel in the batch): a zero loss, not 0/0.
  const none = await diffusion(new Float32Array(B * n));
  assert.is(none, 0);
  await weighted.dispose();
  await plain.dispose();

  // The training program feeds tokw = background + (1 − background)·subject share.
  const tb = prog.batch(0, 2, 1);
  const tokw = tb.feeds.tokw as Tensor;
  assert.equal(tokw.shape, [2, n]);
  const x0Fed = tb.feeds.x0 as Tensor;
  // Which samples the program drew: match each batch row's x0 against the samples' x0.
  for (let r = 0; r < 2; r++) {
    const row = (x0Fed.data as Float32Array).subarray(r * n * patchDim, (r + 1) * n * patchDim);
    const which = [0, 1].find((i) => maxDiff(row, (batch.x0.data as Float32Array).subarray(i * n * patchDim, (i + 1) * n * patchDim)) === 0);
    assert.ok(which !== undefined, `batch row ${r} is one of the samples`);
    const share = (batch.subject.data as Float32Array).subarray(which * n, (which + 1) * n);
    const fed = (tokw.data as Float32Array).subarray(r * n, (r + 1) * n);
    assert.ok(maxDiff(fed, Array.from(share, (s) => 0.2 + 0.8 * s)) < 1e-7, `row ${r}: tokw = 0.2 + 0.8·share`);
    assert.ok(fed.some((x) => Math.abs(x - 0.2) < 1e-7) && fed.some((x) => x > 0.5), 'background and subject tokens present');
  }
});

// ——— configs and the mosaic/Model node ———

test('configs: a checkpoint without the v2 fields reads as pixel/grid; pose positions need layoutPose; latent patch × down must divide the sizes', async () => {
  const old: Record<string, unknown> = { ...PRESETS.tiny };
  for (const k of ['refAttention', 'layoutPose', 'space', 'latentChannels', 'latentDown', 'latentScale', 'refPositions']) delete old[k];
  assert.equal(configDifferences(old, resolveConfig('tiny')), []);
  const vsLatent = configDifferences({ ...old, width: 32, depth: 2, heads: 2, loraRank: 4, patch: 2 }, config);
  assert.ok(vsLatent.includes('space: pixel in the checkpoint, latent in the model'), vsLatent.join('; '));
  assert.ok(vsLatent.includes('refPositions: grid in the checkpoint, pose in the model'), vsLatent.join('; '));
  assert.ok(vsLatent.includes('latentChannels: 8 in the checkpoint, 4 in the model'), vsLatent.join('; '));
  assert.equal(configDifferences({ ...config }, config), []);
  assert.equal(configDifferences({ ...config, latentScale: 1.87 }, config), ['latentScale: 1.87 in the checkpoint, 1 in the model']);
  // The bundled v1 checkpoint (written before these fields) is refused by the latent preset.
  await rejects(loadWeights('plugins/mosaic/weights/mosaic-small.safetensors', resolveConfig('latent-v2')), /space: pixel in the checkpoint, latent in the model/);

  // A latent checkpoint records its autoencoder's hash: another autoencoder is refused, the same one loads.
  const file = join(tempDir('latent-ae-hash'), 'w.safetensors');
  const params = await perturbedWeights(config, fixtures(2, [1], LATENT_DATA, 'train'), 0.01, 1, ae);
  await saveParamsFile(file, params, { 'mosaic.config': JSON.stringify(config), [AUTOENCODER_KEY]: autoencoderHash(ae) });
  const other = await aeWith(2);
  await rejects(loadWeights(file, config, other), /trained on autoencoder weights [0-9a-f]{16}, the autoencoder input has [0-9a-f]{16}/);
  assert.ok((await loadWeights(file, config, ae)).params['embed.w']);

  assert.throws(() => resolveConfig('tiny', { refPositions: 'pose' }), /refPositions 'pose' needs layoutPose/);
  assert.throws(() => resolveConfig('latent-tiny', { layoutPose: false }), /refPositions 'pose' needs layoutPose/);
  resolveConfig('tiny', { refPositions: 'pose', layoutPose: true });
  assert.throws(() => resolveConfig('latent-tiny', { patch: 3 }), /patch 3 × latentDown 4 = 12 pixels must divide targetSize 64/);
  assert.throws(() => resolveConfig('latent-tiny', { latentDown: 8, patch: 2, refSize: 24 }), /patch 2 × latentDown 8 = 16 pixels must divide refSize 24/);
  // The same patch is fine on pixels: the unit is the token's pixels, not the patch.
  resolveConfig('tiny', { patch: 8 });
  assert.throws(() => resolveConfig('latent-tiny', { space: 'voxel' as never }), /space must be 'pixel' or 'latent'/);
  assert.throws(() => resolveConfig('latent-tiny', { latentScale: 0 }), /latentScale must be a positive number/);
});

const engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => {}, 'error'), workspace: testWorkspace });
const aeCkpt = join(tempDir('latentv2-ae'), 'ae-tiny.safetensors');
await saveParamsFile(aeCkpt, ae.weights!.params as Record<string, Tensor>, { [AE_CONFIG_KEY]: JSON.stringify(aeTiny) });

function modelGraph(preset: string, ae: Record<string, unknown> | null) {
  return {
    format: 'tessera-graph',
    version: 1,
    nodes: {
      ...(ae ? { ae: { type: 'latent/Autoencoder', params: ae } } : {}),
      model: { type: 'mosaic/Model', params: { preset }, ...(ae ? { inputs: { autoencoder: { node: 'ae', output: 'model' } } } : {}) },
    },
  };
}
const runModel = (g: ReturnType<typeof modelGraph>) => collectRun(engine.run(g as never, { outDir: tempDir('latentv2-model'), targets: ['model'] }));

test('mosaic/Model (real engine): latent-tiny refuses no autoencoder and a mismatched one; the tiny autoencoder with weights fits', async () => {
  const none = await runModel(modelGraph('latent-tiny', null));
  assert.is(none.status, 'failed');
  assert.match(none.errors[0]!.message, /mosaic\/Model: MOSAIC preset latent-tiny works in an autoencoder's latent space; wire a latent\/Autoencoder \(with weights\)/);
  const small = await runModel(modelGraph('latent-tiny', { preset: 'small', checkpoint: join(process.cwd(), 'plugins/latent/weights/ae-small.safetensors') }));
  assert.is(small.status, 'failed');
  assert.match(small.errors[0]!.message, /the autoencoder \(small\) does not fit MOSAIC latent-tiny: 8 latent channels, the model expects 4/);
  assert.not.match(small.errors[0]!.message, /no weights/);
  const noWeights = await runModel(modelGraph('latent-tiny', { preset: 'tiny' }));
  assert.is(noWeights.status, 'failed');
  assert.match(noWeights.errors[0]!.message, /does not fit MOSAIC latent-tiny: no weights/);
  const ok = await runModel(modelGraph('latent-tiny', { preset: 'tiny', checkpoint: aeCkpt }));
  assert.is(ok.status, 'done', JSON.stringify(ok.errors));
  const out = (ok.events.find((e) => e.type === 'node:output' && e.nodeId === 'model') as unknown as { outputs: { model: MosaicModel } }).outputs.model;
  assert.is(out.config.space, 'latent');
  assert.is(out.autoencoder?.config.latentChannels, 4);
  // A pixel preset with an autoencoder runs (the input is ignored, with a warning).
  const pixel = await runModel(modelGraph('tiny', { preset: 'tiny', checkpoint: aeCkpt }));
  assert.is(pixel.status, 'done', JSON.stringify(pixel.errors));
  const warns = pixel.events.filter((e) => e.type === 'node:log' && e.nodeId === 'model' && (e as unknown as { level: string }).level === 'warn');
  assert.equal(warns.map((e) => (e as unknown as { message: string }).message), ['mosaic/Model: preset tiny works on pixels; the autoencoder input is ignored']);
  assert.is((pixel.events.find((e) => e.type === 'node:output' && e.nodeId === 'model') as unknown as { outputs: { model: MosaicModel } }).outputs.model.autoencoder, null);
});

// ——— train → resume → sample ———

/** The weights the training test ends with, sampled by the next test. */
let trained: MosaicModel | undefined;

test('latent-tiny trains with SubjectWeight (K = 1, 2); killed mid-run and resumed it ends with the uninterrupted weights; another autoencoder is refused', async () => {
  const samples = fixtures(4, [1, 2], LATENT_DATA, 'train');
  const model = new MosaicModel(config).withAutoencoder(ae).withTerm({ kind: 'subject', background: 0.2 });
  const s = settings({ checkpointEvery: 3 });
  const a = await runTraining(model.trainingProgram(samples, { steps: 6 }), s, tempDir('latentv2-a'));
  assert.is(a.history.length, 6);
  for (const row of a.history) assert.ok(Number.isFinite(row.loss) && row.loss! > 0, `step ${row.step}: loss ${row.loss}`);
  assert.ok(a.history.some((r) => r.gradNorm! > 0));

  // The same run aborted after step 4 (its checkpoint is step 3), then resumed.
  const dirB = tempDir('latentv2-b');
  const ctl = new AbortController();
  await rejects(runTraining(model.trainingProgram(samples, { steps: 6 }), s, dirB, { signal: ctl.signal, onStep: (_r, step) => step === 4 && ctl.abort() }), /abort/i);
  const b = await runTraining(model.trainingProgram(samples, { steps: 6 }), { ...s, resume: true }, dirB);
  assert.is(b.resumedFrom, 3);
  assert.equal(Object.keys(b.params).sort(), Object.keys(a.params).sort());
  for (const [name, t] of Object.entries(a.params)) assert.equal(Array.from(b.params[name]!.data as Float32Array), Array.from(t.data as Float32Array), name);
  assert.equal(b.history, a.history);

  // Other autoencoder weights are other training data: the resume is refused.
  const other = new MosaicModel(config).withAutoencoder(await aeWith(2)).withTerm({ kind: 'subject', background: 0.2 });
  await rejects(runTraining(other.trainingProgram(samples, { steps: 6 }), { ...s, resume: true }, dirB), /autoencoder weights \(hash\) differ/);
  // Without the subject term the loss terms differ too (sanity of the metadata check).
  await rejects(runTraining(new MosaicModel(config).withAutoencoder(ae).trainingProgram(samples, { steps: 6 }), { ...s, resume: true }, dirB), /loss terms differ/);
  trained = model.withWeights({ params: a.params, source: 'test run', step: 6 });
});

test('eulerSample (latent): decoded 64×64 RGB images, independent of the batch size; heun differs from euler and takes 2n − 1 evaluations', async () => {
  assert.ok(trained, 'the training test ran first');
  const samples = fixtures(3, [1, 2, 2], LATENT_DATA, 'val');
  const bytes = (imgs: { data: Uint8Array }[]) => imgs.map((i) => Buffer.from(i.data));
  const ticks: number[][] = [];
  const euler = await eulerSample(trained!, samples, { steps: 3, seed: 2, solver: 'euler', onStep: (d, t) => ticks.push([d, t]) });
  assert.is(euler.images.length, 3);
  for (const img of euler.images) assert.equal([img.width, img.height, img.channels, img.data.length], [64, 64, 3, 64 * 64 * 3]);
  // Two K groups (K = 1: one sample, K = 2: two), one batch each.
  assert.equal(ticks.map((x) => x[1]), new Array(6).fill(6));
  assert.is(ticks.length, 2 * evaluations(3, 'euler'));
  const heunTicks: number[][] = [];
  const heun = await eulerSample(trained!, samples, { steps: 3, seed: 2, solver: 'heun', onStep: (d, t) => heunTicks.push([d, t]) });
  assert.is(evaluations(3, 'heun'), 5);
  assert.is(heunTicks.length, 2 * 5, 'heun: 2·3 − 1 evaluations per batch');
  assert.equal(heunTicks.map((x) => x[0]), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const e = bytes(euler.images);
  const h = bytes(heun.images);
  e.forEach((x, i) => assert.not.ok(x.equals(h[i]!), `sample ${i}: heun equals euler`));
  // One step: heun is euler (its only step ends at t = 0).
  const e1 = bytes((await eulerSample(trained!, samples, { steps: 1, seed: 2, solver: 'euler' })).images);
  const h1Ticks: number[] = [];
  const h1 = bytes((await eulerSample(trained!, samples, { steps: 1, seed: 2, solver: 'heun', onStep: (d) => h1Ticks.push(d) })).images);
  assert.is(h1Ticks.length, 2);
  e1.forEach((x, i) => assert.ok(x.equals(h1[i]!), `one step, sample ${i}`));
  // Batch size 1 vs the default: same bytes, for both solvers.
  const eOnes = bytes((await eulerSample(trained!, samples, { steps: 3, seed: 2, solver: 'euler', batchSize: 1 })).images);
  eOnes.forEach((x, i) => assert.ok(x.equals(e[i]!), `euler, batch size 1 vs 8: sample ${i}`));
  const hOnes = bytes((await eulerSample(trained!, samples, { steps: 3, seed: 2, solver: 'heun', batchSize: 1 })).images);
  hOnes.forEach((x, i) => assert.ok(x.equals(h[i]!), `heun, batch size 1 vs 8: sample ${i}`));
  assert.not.ok(e[1]!.equals(e[2]!), 'different samples, different images');
  // A latent model without its autoencoder cannot sample.
  await rejects(eulerSample(new MosaicModel(config).withWeights(trained!.weights!), samples, { steps: 1, seed: 0 }), /mosaic sampling: MOSAIC preset latent-tiny works in an autoencoder's latent space/);
});

test.run();
