// MOSAIC generation: Euler sampling on real ORT sessions (tiny preset), determinism and batch
// independence, attention maps, input errors, the contact sheet and the mosaic/Sample node.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectRun, createEngine, createLogger, defineNode, definePlugin, type ImageValue } from 'tessera';
import { resolveConfig, dims } from '../../plugins/mosaic/model/MosaicConfig.ts';
import { MosaicModel } from '../../plugins/mosaic/model/MosaicModel.ts';
import { eulerSample, generationSheet, timeGrid } from '../../plugins/mosaic/sampling/index.ts';
import { Sample } from '../../plugins/mosaic/nodes/Sample.ts';
import { SLOT_COLORS } from 'tessera/image';
import { decodePng } from 'tessera/image';
import { DEFAULT_CONFIG, generateSample, type SemAlignSample } from '../../plugins/semalign/sample.ts';
import { tempDir } from '../semalign/helpers.ts';
import { perturbedWeights, rejects } from './helpers.ts';
import { renamePlugin } from '../model/renameSamples.ts';

const config = resolveConfig('tiny');
const { n, l } = dims(config);
const KS = [2, 1, 2, 3, 2];
const samples: SemAlignSample[] = KS.map((k, i) => generateSample({ ...DEFAULT_CONFIG, seed: 0 }, { split: 'val', index: i, k }));

let weighted: Promise<MosaicModel> | undefined;
function trainedModel(): Promise<MosaicModel> {
  return (weighted ??= perturbedWeights(config, samples, 0.05, 7).then((params) => new MosaicModel(config).withWeights({ params, source: 'test', step: 0 })));
}

const bytesOf = (imgs: { data: Uint8Array }[]) => imgs.map((i) => Buffer.from(i.data));

test('timeGrid: uniform from 1 to 0, shift keeps the ends', () => {
  assert.equal([...timeGrid(4)], [1, 0.75, 0.5, 0.25, 0]);
  const s = timeGrid(4, 3);
  assert.is(s[0], 1);
  assert.is(s[4], 0);
  assert.ok(s[2]! > 0.5, 'shift > 1 stays longer at high noise');
});

test('same seed → identical bytes; another seed → different images; images have the target size', async () => {
  const model = await trainedModel();
  const a = await eulerSample(model, samples, { steps: 3, seed: 1 });
  const b = await eulerSample(model, samples, { steps: 3, seed: 1 });
  const c = await eulerSample(model, samples, { steps: 3, seed: 2 });
  assert.is(a.maps, undefined);
  assert.is(a.images.length, samples.length);
  for (const img of a.images) {
    assert.is(img.width, config.targetSize);
    assert.is(img.height, config.targetSize);
    assert.is(img.channels, 3);
    assert.is(img.data.length, config.targetSize * config.targetSize * 3);
  }
  bytesOf(a.images).forEach((x, i) => assert.ok(x.equals(bytesOf(b.images)[i]!), `sample ${i} repeats`));
  bytesOf(a.images).forEach((x, i) => assert.not.ok(x.equals(bytesOf(c.images)[i]!), `sample ${i} changes with the seed`));
});

test('a sample’s image depends neither on batch size nor on its batch mates; input order is kept', async () => {
  const model = await trainedModel();
  const all = await eulerSample(model, samples, { steps: 3, seed: 5, batchSize: 8 });
  const ones = await eulerSample(model, samples, { steps: 3, seed: 5, batchSize: 1 });
  const order = [4, 2, 0, 3, 1];
  const shuffled = await eulerSample(model, order.map((i) => samples[i]!), { steps: 3, seed: 5, batchSize: 2 });
  const single = await eulerSample(model, [samples[2]!], { steps: 3, seed: 5 });
  const ref = bytesOf(all.images);
  bytesOf(ones.images).forEach((x, i) => assert.ok(x.equals(ref[i]!), `batch size 1 vs 8: sample ${i}`));
  bytesOf(shuffled.images).forEach((x, j) => assert.ok(x.equals(ref[order[j]!]!), `shuffled, batch size 2: sample ${order[j]}`));
  assert.ok(bytesOf(single.images)[0]!.equals(ref[2]!), 'alone vs in a batch');
  // Different samples (own noise, own conditioning) give different images.
  assert.not.ok(ref[0]!.equals(ref[2]!));
});

test('attention maps: [K·L, N] per sample, rows sum to 1; progress reaches its total', async () => {
  const model = await trainedModel();
  const ticks: [number, number][] = [];
  const r = await eulerSample(model, samples, { steps: 2, seed: 0, batchSize: 2, mapBlocks: [0, 1], onStep: (d, t) => ticks.push([d, t]) });
  assert.ok(r.maps);
  r.maps!.forEach((m, i) => {
    const k = KS[i]!;
    assert.equal([...m.shape], [k * l, n]);
    assert.is(m.data.length, k * l * n);
    for (let row = 0; row < k * l; row++) {
      let s = 0;
      for (let c = 0; c < n; c++) s += m.data[row * n + c]!;
      assert.ok(Math.abs(s - 1) < 1e-4, `sample ${i} row ${row} sums to ${s}`);
    }
  });
  // K=1: 1 batch, K=2: 3 samples → 2 batches of 2, K=3: 1 batch; 2 steps each.
  const total = (1 + 2 + 1) * 2;
  assert.equal(ticks.at(-1), [total, total]);
  assert.is(ticks.length, total);
});

test('errors before any work: no weights, wrong reference size, K above maxRefs, bad options', async () => {
  await rejects(eulerSample(new MosaicModel(config), samples, { steps: 2, seed: 0 }), /no weights; train it or load a checkpoint/);
  const model = await trainedModel();
  const small: ImageValue = { width: 16, height: 16, channels: 3, data: new Uint8Array(16 * 16 * 3) };
  const wrong: SemAlignSample = { ...samples[0]!, refs: [small, samples[0]!.refs[1]!] };
  await rejects(eulerSample(model, [samples[1]!, wrong], { steps: 2, seed: 0 }), /val-0000000: reference 0 is 16×16, the model expects 32×32/);
  const two = new MosaicModel(resolveConfig('tiny', { maxRefs: 2 })).withWeights(model.weights!);
  await rejects(eulerSample(two, samples, { steps: 2, seed: 0 }), /val-0000003: K = 3 references, but this model accepts 1…2/);
  await rejects(eulerSample(model, samples, { steps: 0, seed: 0 }), /steps must be a positive integer/);
  await rejects(eulerSample(model, samples, { steps: 2, seed: 0, mapBlocks: [5] }), /map blocks \[5\] do not exist/);
  const ac = new AbortController();
  ac.abort();
  await rejects(eulerSample(model, samples, { steps: 2, seed: 0, signal: ac.signal }), /abort/i);
});

test('generationSheet: refs | generation | ground truth | heatmaps, slot-colored frames', async () => {
  const model = await trainedModel();
  const picked = samples.slice(0, 2);
  const r = await eulerSample(model, picked, { steps: 1, seed: 0, mapBlocks: [1] });
  const plain = generationSheet(picked, r.images, { scale: 2, groundTruth: false });
  const full = generationSheet(picked, r.images, { scale: 2, maps: r.maps });
  // Widest row: K = 2 → 2 ref columns; tiles: generation + truth + patch map + 2 mean maps.
  const T = config.targetSize * 2;
  const refW = 2 * (config.refSize * 2 + 8);
  assert.is(plain.width, refW + 16 + (T + 8) + 16);
  assert.is(full.width, refW + 16 + 5 * (T + 8) + 16);
  assert.is(full.height, plain.height);
  const has = (img: { data: Uint8Array }, rgb: readonly number[]) => {
    for (let p = 0; p < img.data.length; p += 3) if (img.data[p] === rgb[0] && img.data[p + 1] === rgb[1] && img.data[p + 2] === rgb[2]) return true;
    return false;
  };
  assert.ok(has(full, SLOT_COLORS[0]!) && has(full, SLOT_COLORS[1]!));
  assert.throws(() => generationSheet(picked, r.images.slice(1)), /1 images for 2 samples/);
});

const ModelSource = defineNode({
  type: 'mosaictest/Model',
  title: 'test model',
  category: 'test',
  description: 'Outputs the tiny test model (or a non-MOSAIC value).',
  version: '1.0.0',
  inputs: {},
  outputs: { model: { type: 'MODEL' } },
  params: { type: 'object', properties: { bogus: { type: 'boolean', default: false } } },
  async execute(ctx) {
    return { model: ctx.params.bogus ? { kind: 'lora' } : await trainedModel() };
  },
});

async function runGraph(nodes: Record<string, unknown>) {
  const core = (await import('../../plugins/core/index.ts')).default;
  const semalign = (await import('../../plugins/semalign/index.ts')).default;
  const plugin = definePlugin({ name: 'mosaictest', version: '0.0.0', nodes: [ModelSource, Sample] });
  const engine = await createEngine({ plugins: [core, semalign, plugin, renamePlugin], logger: createLogger(() => {}, 'error') });
  const outDir = tempDir('mosaic-sample');
  return { ...(await collectRun(engine.run({ format: 'tessera-graph', version: 1, name: 't', nodes }, { outDir, useCache: false }))), outDir };
}

const gen = { type: 'semalign/Generate', params: { train: 0, val: 3, test: 0, kMin: 1, kMax: 3, write: false } };

test('mosaic/Sample: ids that sanitize alike ("a b", "a_b") and the id "sheet" each get their own file; none overwrites another or the sheet', async () => {
  const r = await runGraph({
    g: gen,
    n: { type: 'renametest/Rename', params: { ids: ['a b', 'a_b', 'sheet'] }, inputs: { samples: { node: 'g', output: 'samples' } } },
    s: { type: 'mosaic/Sample', params: { steps: 1, seed: 3, sheetScale: 1 }, inputs: { model: { node: 'm', output: 'model' }, samples: { node: 'n', output: 'samples' } } },
    m: { type: 'mosaictest/Model' },
  });
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const out = r.results.s! as { images: ImageValue[]; files: string[]; sheet: ImageValue };
  assert.equal(out.files, ['generated/a_b.png', 'generated/a_b_1.png', 'generated/sheet_2.png', 'generated/sheet.png']);
  for (const [i, f] of out.files.slice(0, 3).entries()) assert.equal(Buffer.from(decodePng(readFileSync(join(r.outDir, f)), f, 3).data), Buffer.from(out.images[i]!.data), `${f} holds image ${i}`);
  assert.is(decodePng(readFileSync(join(r.outDir, 'generated/sheet.png')), 'sheet.png', 3).width, out.sheet.width);
});

test('mosaic/Sample through the engine: images, attention, <id>.png and sheet.png; non-MOSAIC model rejected', async () => {
  const r = await runGraph({
    g: gen,
    m: { type: 'mosaictest/Model' },
    s: { type: 'mosaic/Sample', params: { steps: 2, seed: 3, sheetScale: 2 }, inputs: { model: { node: 'm', output: 'model' }, samples: { node: 'g', output: 'samples' } } },
  });
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const out = r.results.s! as { images: unknown[]; attention: { shape: number[] }[]; files: string[]; sheet: { width: number } };
  assert.is(out.images.length, 3);
  assert.is(out.attention.length, 3);
  assert.is(out.attention[0]!.shape[1], n);
  assert.is(out.files.length, 4);
  assert.ok(out.files.includes('generated/sheet.png'));
  const sheetFile = join(r.outDir, 'generated/sheet.png');
  assert.ok(existsSync(sheetFile));
  assert.is(decodePng(readFileSync(sheetFile), sheetFile, 3).width, out.sheet.width);
  assert.ok(existsSync(join(r.outDir, 'generated/val-0000000.png')));

  const bad = await runGraph({
    g: gen,
    m: { type: 'mosaictest/Model', params: { bogus: true } },
    s: { type: 'mosaic/Sample', inputs: { model: { node: 'm', output: 'model' }, samples: { node: 'g', output: 'samples' } } },
  });
  assert.is(bad.status, 'failed');
  assert.match(JSON.stringify(bad.errors), /mosaic\/Sample: .*must be a MOSAIC model/);
});

test.run();
