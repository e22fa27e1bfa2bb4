// focusdpo on MOSAIC v2 bases: latent-tiny (pose in the layout, pose-warped reference positions,
// latent tokens) on the tiny autoencoder. Winners and losers are the autoencoder's latents, the
// focus terms live on the 8-pixel token grid, DPO and SFT steps run and resume exactly, and what
// still cannot run is refused by name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectRun, createEngine, createLogger, type ImageValue } from 'tessera';
import { saveParamsFile, Tensor } from 'tessera/kernels';
import { buildBatch, dims, encodeSamples, MosaicModel, resolveConfig } from 'tessera/mosaic';
import { runTraining, type TrainSettings } from 'tessera/train';
import { AutoencoderModel } from '../../plugins/latent/AutoencoderModel.ts';
import { resolveConfig as aeConfig } from '../../plugins/latent/config.ts';
import { checkSupportedBase } from '../../plugins/focusdpo/supportedBase.ts';
import { DEFAULT_FOCUS, DpoModel, DpoTrainingProgram, focusMapsAt, focusSheet, maskToPatches, requirePairs, UNIFORM_FOCUS, type DpoRun, type PreferencePair } from '../../plugins/focusdpo/index.ts';
import { CONFIG_KEY as AE_CONFIG_KEY } from '../../plugins/latent/AutoencoderTrainingProgram.ts';
import { builtinPlugins } from '../../plugins/index.ts';
import { initialWeights, tiny as aeTiny } from '../latent/helpers.ts';
import { tempDir, testWorkspace } from '../semalign/helpers.ts';
import { rejects } from '../mosaic/helpers.ts';
import { fixtures, weightedModel } from './helpers.ts';

const config = resolveConfig('latent-tiny');
const { n, grid, patchDim, tokenPixels } = dims(config);
/** Latent tokens are 8×8 pixels, so SemAlign annotates 8-pixel patches. */
const LATENT_DATA = { patchSize: 8, refPatchSize: 8 } as const;

const aeWith = async (seed: number) => new AutoencoderModel(aeTiny).withWeights({ params: await initialWeights(seed), source: `init seed ${seed}`, step: 0 });
const ae = await aeWith(1);
const pairs = requirePairs(fixtures(4, [1, 2], { ...LATENT_DATA, overlap: 0.2 }, 'train'), 'test');
const base = await weightedModel(config, pairs, 0.05, 7, ae);

const run = (over: Partial<DpoRun> = {}): DpoRun => ({ objective: 'dpo', subset: 'all', beta: 2000, focus: DEFAULT_FOCUS, mapBlocks: base.mapBlocks, ...over });
const settings = (over: Partial<TrainSettings> = {}): TrainSettings => ({ steps: 4, batchSize: 2, lr: 1e-3, schedule: 'constant', warmupSteps: 0, weightDecay: 0, beta1: 0.9, beta2: 0.999, clipGradNorm: 1, ema: 0, checkpointEvery: 2, keep: 3, resume: false, seed: 3, ...over });
const dir = () => mkdtempSync(join(tmpdir(), 'focusdpo-latent-'));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

/** Share of changed mask pixels in target token `tok`, counted directly on its 8×8 pixels. */
function maskShare(p: PreferencePair, tok: number): number {
  const { width: W, channels: C, data } = p.dipMask;
  const gy = Math.floor(tok / grid);
  const gx = tok % grid;
  let on = 0;
  for (let y = 0; y < tokenPixels; y++) for (let x = 0; x < tokenPixels; x++) if (data[((gy * tokenPixels + y) * W + gx * tokenPixels + x) * C]! > 127) on++;
  return on / (tokenPixels * tokenPixels);
}

test('latent batches: x0w / x0l are the autoencoder latents of winner and loser, refpos is fed, prior and complexity are per 8-pixel token', async () => {
  assert.equal([n, grid, tokenPixels], [64, 8, 8]);
  const prog = new DpoTrainingProgram(base, pairs, run());
  assert.throws(() => prog.batch(0, 2, 0), /pairs must be encoded first \(prepare\(\) was not called\)/);
  await prog.prepare();
  const b = prog.batch(0, 2, 0);
  const x0w = b.feeds.x0w as Tensor;
  const x0l = b.feeds.x0l as Tensor;
  const K = Number(b.variant.slice(1));
  assert.equal(x0w.shape, [2, n, patchDim]);
  assert.equal((b.feeds.refpos as Tensor).shape, [2, K * dims(config).l, config.width]);
  assert.equal((b.feeds.boxes as Tensor).shape, [2, K, 9], 'pose features in the layout');
  assert.equal((b.feeds['focus.prior'] as Tensor).shape, [2, n]);
  assert.equal((b.feeds['focus.cx'] as Tensor).shape, [2, n]);

  // Which pairs the program drew: match each row against every pair's encoded winner.
  const lookup = await encodeSamples(ae, pairs);
  const losers = pairs.map((p) => ({ ...p, target: p.loser }));
  const loserLookup = await encodeSamples(ae, losers);
  const winners = buildBatch(pairs.filter((p) => p.refs.length === K), config, lookup);
  const same = pairs.filter((p) => p.refs.length === K);
  const wantLosers = buildBatch(losers.filter((p) => p.refs.length === K), config, loserLookup);
  for (let r = 0; r < 2; r++) {
    const row = (x0w.data as Float32Array).subarray(r * n * patchDim, (r + 1) * n * patchDim);
    const i = same.findIndex((_, j) => maxDiff(row, (winners.x0.data as Float32Array).subarray(j * n * patchDim, (j + 1) * n * patchDim)) === 0);
    assert.ok(i >= 0, `row ${r}: the encoded winner of a K = ${K} pair`);
    const lrow = (x0l.data as Float32Array).subarray(r * n * patchDim, (r + 1) * n * patchDim);
    assert.equal(Array.from(lrow), Array.from((wantLosers.x0.data as Float32Array).subarray(i * n * patchDim, (i + 1) * n * patchDim)), `row ${r}: the encoded loser`);
    assert.ok(maxDiff(row, lrow) > 1e-3, 'winner and loser latents differ');
    // M_prior: the changed pixels' share of each 8×8 token, counted directly.
    const prior = (b.feeds['focus.prior'] as Tensor).data as Float32Array;
    const p = same[i]!;
    for (let tok = 0; tok < n; tok++) assert.ok(Math.abs(prior[r * n + tok]! - maskShare(p, tok)) < 1e-6, `row ${r} token ${tok}`);
    assert.ok(prior.subarray(r * n, (r + 1) * n).some((v) => v > 0) && prior.subarray(r * n, (r + 1) * n).some((v) => v === 0), 'the prior marks some tokens, not all');
  }
  assert.equal(Array.from(maskToPatches(pairs[0]!.dipMask, tokenPixels)), Array.from({ length: n }, (_, tok) => maskShare(pairs[0]!, tok)));

  // SFT needs no loser (nothing extra encoded or fed).
  const sft = new DpoTrainingProgram(base, pairs, run({ objective: 'sft', focus: UNIFORM_FOCUS, mapBlocks: [] }));
  await sft.prepare();
  assert.is(sft.batch(0, 2, 0).feeds.x0l, undefined);
});

test('focusMapsAt on a latent base: one W_t per t over the 8×8 token grid, zero where the prior is, summing to 1; the sheet draws it', async () => {
  const pair = pairs[1]!;
  const times = [0.9, 0.3];
  const maps = await focusMapsAt(base, pair, DEFAULT_FOCUS, times, 0);
  assert.is(maps.length, 2);
  for (const m of maps) {
    assert.is(m.length, n);
    const sum = m.reduce((a, v) => a + v, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, `W sums to 1: ${sum}`);
    m.forEach((v, tok) => {
      if (maskShare(pair, tok) === 0) assert.is(v, 0, `token ${tok}: outside the prior`);
    });
  }
  assert.ok(maxDiff(maps[0]!, maps[1]!) > 1e-4, 'M_corr (and the complexity gate) change W with t');
  const sheet = focusSheet(pair, maps, grid, 1);
  assert.equal([sheet.width, sheet.height], [5 * 64 + 4 * 4, 64]);
});

test('latent-tiny DPO and SFT: step 1 at policy = reference is ln 2 (margin 0); aborted and resumed, both end with the uninterrupted weights; other autoencoder weights are refused', async () => {
  for (const r of [run(), run({ objective: 'sft' })]) {
    const handle = new DpoModel(base, r);
    const a = await runTraining(handle.trainingProgram(pairs), settings(), dir());
    assert.is(a.history.length, 4);
    if (r.objective === 'dpo') {
      // Policy and reference are two traces of the same network on the same input: their errors
      // agree up to float32 rounding, which β = 2000 amplifies to ~1e-5 in the margin.
      const h0 = a.history[0]!;
      assert.ok(Math.abs(h0.loss - Math.LN2) < 1e-4 && Math.abs(h0.margin!) < 1e-4, `step 1: loss ${h0.loss} = ln 2, margin ${h0.margin} = 0`);
      assert.ok(a.history.slice(1).some((h) => Math.abs(h.margin!) > 1e-3), `later steps move the margin: ${a.history.map((h) => h.margin).join(', ')}`);
    }
    for (const h of a.history) assert.ok(Number.isFinite(h.loss) && Number.isFinite(h.flowW!), `step ${h.step}: loss ${h.loss}`);
    for (const [k, t] of Object.entries(base.weights!.params)) assert.equal(Array.from(a.params[`ref.${k}`]!.data as Float32Array), Array.from(t.data as Float32Array), `reference ${k} stays frozen`);
    const changed = Object.keys(base.weights!.params).filter((k) => maxDiff(a.params[k]!.data as Float32Array, base.weights!.params[k]!.data as Float32Array) > 0);
    assert.ok(changed.length > 0, 'the policy trains');
    const out = handle.trainingProgram(pairs).withWeights(a.params, { step: 4, source: 'test' }) as MosaicModel;
    assert.is(out.autoencoder, ae, 'the trained handle keeps its autoencoder (mosaic/Sample decodes with it)');

    const d = dir();
    const ctl = new AbortController();
    await rejects(runTraining(handle.trainingProgram(pairs), settings(), d, { signal: ctl.signal, onStep: (_row, step) => step === 3 && ctl.abort() }), /abort/i);
    const b = await runTraining(handle.trainingProgram(pairs), settings({ resume: true }), d);
    assert.is(b.resumedFrom, 2);
    assert.equal(Object.keys(b.params).sort(), Object.keys(a.params).sort());
    for (const [k, t] of Object.entries(a.params)) assert.equal(Array.from(b.params[k]!.data as Float32Array), Array.from(t.data as Float32Array), `${r.objective}: ${k} after resume`);
    assert.equal(b.history, a.history);

    // Other autoencoder weights encode other data: the resume is refused.
    const other = new DpoModel(base.withAutoencoder(await aeWith(2)), r);
    await rejects(runTraining(other.trainingProgram(pairs), settings({ resume: true }), d), /mosaic\.autoencoder differs/);
  }
});

test('v2 pixel condition: pose in the layout and pose-warped positions trace in the DPO step (loss ln 2 at step 1)', async () => {
  const pose = resolveConfig('tiny', { layoutPose: true, refPositions: 'pose' });
  const px = requirePairs(fixtures(2, [2]), 'test');
  const m = await weightedModel(pose, px);
  checkSupportedBase(m, 'focusdpo/DPOLoss');
  const r = await runTraining(new DpoModel(m, run({ mapBlocks: m.mapBlocks })).trainingProgram(px), settings({ steps: 1, checkpointEvery: 0 }), dir());
  assert.ok(Math.abs(r.history[0]!.loss - Math.LN2) < 1e-4 && Math.abs(r.history[0]!.margin!) < 1e-4, `loss ${r.history[0]!.loss}, margin ${r.history[0]!.margin}`);
});

test('refusals by name: a latent base without a fitting autoencoder (none, no weights, other channels); pairs annotated on 4-pixel patches', async () => {
  const none = new MosaicModel(config).withWeights(base.weights!);
  assert.throws(() => checkSupportedBase(none, 'focusdpo/DPOLoss'), /focusdpo\/DPOLoss: MOSAIC preset latent-tiny works in an autoencoder's latent space; wire a latent\/Autoencoder/);
  assert.throws(() => new DpoTrainingProgram(none, pairs, run()), /focusdpo\/DPOLoss: MOSAIC preset latent-tiny works in an autoencoder's latent space/);
  assert.throws(() => checkSupportedBase(none.withAutoencoder(new AutoencoderModel(aeTiny)), 'focusdpo/DPOLoss'), /does not fit MOSAIC latent-tiny: no weights/);
  assert.throws(() => checkSupportedBase(none.withAutoencoder(new AutoencoderModel(aeConfig('small'))), 'focusdpo/DPOLoss'), /8 latent channels, the model expects 4/);
  checkSupportedBase(base, 'focusdpo/DPOLoss');
  await rejects(focusMapsAt(none, pairs[0]!, DEFAULT_FOCUS, [0.5], 0), /focusdpo\/FocusMap: MOSAIC preset latent-tiny works in an autoencoder's latent space/);
  const pixelPairs = requirePairs(fixtures(2, [1]), 'test');
  assert.throws(() => new DpoTrainingProgram(base, pixelPairs, run()), /generate the data with patchSize = refPatchSize = 8/);
});

test('graph (real engine): latent/Autoencoder + mosaic/Model latent-tiny → FocusMap eager heatmaps → DPOLoss → train/Train → mosaic/Sample decodes 64×64 images', async () => {
  const d = tempDir('focusdpo-latent-graph');
  const aeCkpt = join(d, 'ae.safetensors');
  const mosaicCkpt = join(d, 'mosaic.safetensors');
  await saveParamsFile(aeCkpt, ae.weights!.params as Record<string, Tensor>, { [AE_CONFIG_KEY]: JSON.stringify(aeTiny) });
  await saveParamsFile(mosaicCkpt, base.weights!.params as Record<string, Tensor>, { 'mosaic.config': JSON.stringify(config) });
  const graph = {
    format: 'tessera-graph',
    version: 1,
    nodes: {
      data: { type: 'semalign/Generate', params: { seed: 0, train: 4, val: 0, test: 0, kMin: 1, kMax: 2, dip: 'mixed', write: false, inMemory: true, ...LATENT_DATA } },
      pairs: { type: 'focusdpo/PreferencePairs', params: { dir: '', sheetRows: 0, file: '' }, inputs: { samples: { node: 'data', output: 'samples' } } },
      ae: { type: 'latent/Autoencoder', params: { preset: 'tiny', checkpoint: aeCkpt } },
      model: { type: 'mosaic/Model', params: { preset: 'latent-tiny', checkpoint: mosaicCkpt }, inputs: { autoencoder: { node: 'ae', output: 'model' } } },
      focus: { type: 'focusdpo/FocusMap', params: { times: [0.9, 0.3], scale: 1, file: '' }, inputs: { model: { node: 'model', output: 'model' }, pairs: { node: 'pairs', output: 'pairs' } } },
      dpo: { type: 'focusdpo/DPOLoss', params: { beta: 2000 }, inputs: { model: { node: 'model', output: 'model' }, focus: { node: 'focus', output: 'focus' } } },
      train: { type: 'train/Train', params: { steps: 3, batchSize: 2, lr: 1e-4, schedule: 'constant', warmupSteps: 0, checkpointEvery: 0, seed: 0, curveFile: '' }, inputs: { model: { node: 'dpo', output: 'model' }, data: { node: 'pairs', output: 'pairs' } } },
      after: { type: 'mosaic/Sample', params: { steps: 2, seed: 0, batchSize: 4, pck: false, sheetRows: 0, write: false }, inputs: { model: { node: 'train', output: 'model' }, samples: { node: 'data', output: 'samples' } } },
    },
  };
  const engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => {}, 'error'), workspace: testWorkspace });
  const r = await collectRun(engine.run(graph as never, { outDir: tempDir('focusdpo-latent-run'), targets: ['focus', 'after'] }));
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const output = (id: string) => (r.events.find((e) => e.type === 'node:output' && e.nodeId === id) as unknown as { outputs: Record<string, unknown> }).outputs;
  const sheet = output('focus').heatmaps as ImageValue;
  assert.equal([sheet.width, sheet.height], [5 * 64 + 4 * 4, 64], 'winner | loser | mask | W_t at 2 times');
  const trained = output('train').model as MosaicModel;
  assert.is(trained.config.space, 'latent');
  assert.ok(trained.autoencoder, 'the post-trained handle keeps the autoencoder');
  const images = output('after').images as ImageValue[];
  assert.is(images.length, 4);
  for (const img of images) assert.equal([img.width, img.height, img.channels], [64, 64, 3]);
});

test.run();
