// model/Sample through the engine: graphs/import-generate.json headless (the UNet export
// fine-tuned with LoRA, then test samples generated with the export's weights and with the trained
// adapters, both scored by metrics/SemAlignMetrics): the PNGs and sheets are written, the tuned
// images are exactly what the sampler gives with the weights Train wrote and differ from the base
// images; the same graph and seed give byte-identical files; a MOSAIC model or samples with the
// wrong reference count fail the node with what to do.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { collectRun, createEngine, createLogger } from 'tessera';
import { ROOT, cli } from './cli.ts';
import { decodePng } from '../../core/image/index.ts';
import { loadSafetensors, type Tensor } from '../../kernels/index.ts';
import { builtinPlugins } from '../../plugins/index.ts';
import { ImportedModel } from '../../plugins/model/index.ts';
import { generationItems } from '../../plugins/model/generationItems.ts';
import { sampleImported } from '../../plugins/model/sampleImported.ts';
import { DEFAULT_CONFIG, generateInMemory } from '../../plugins/semalign/index.ts';
import { tempDir, testWorkspace } from '../semalign/helpers.ts';
import { UNET, load } from './tapStep.ts';
import { renamePlugin } from './renameSamples.ts';

const png = (path: string) => decodePng(readFileSync(path), path, 3);
const imagePsnr = (dir: string) => (JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as { perK: { means: Record<string, number> }[] }).perK[0]!.means.imagePsnr!;

test('graphs/import-generate.json runs headless: base and fine-tuned generations of the test samples, sheets, metrics; the tuned images are the sampler’s with the weights Train wrote', async () => {
  const out = tempDir('import-generate');
  const r = await cli('graphs/import-generate.json', out);
  assert.is(r.code, 0, r.text);
  assert.match(r.text, /after generating 6 images with the imported model: .*LoRA rank 8 on \*, weights from .*lora\.safetensors \(step 300\)/);
  const ids = Array.from({ length: 6 }, (_, i) => `test-${String(i).padStart(7, '0')}`);
  for (const arm of ['base', 'tuned']) {
    assert.equal(readdirSync(join(out, 'generated', arm)).sort(), [...ids.map((id) => `${id}.png`), 'sheet.png'].sort());
    // Sheet: reference | generated | target on 128-px tiles (2 × the 64-px target), 6-px gaps, 6 rows.
    const sheet = png(join(out, 'generated', arm, 'sheet.png'));
    assert.equal([sheet.width, sheet.height], [6 + 3 * 134 + 6, 6 + 6 * 134]);
  }
  const base = ids.map((id) => png(join(out, 'generated/base', `${id}.png`)));
  const tuned = ids.map((id) => png(join(out, 'generated/tuned', `${id}.png`)));
  assert.ok(base.every((im) => im.width === 16 && im.height === 16));
  const changed = tuned.reduce((n, im, i) => n + im.data.reduce((m, v, j) => m + (Math.abs(v - base[i]!.data[j]!) > 8 ? 1 : 0), 0), 0);
  assert.ok(changed > 0.5 * 6 * 16 * 16 * 3, `fine-tuning changed ${changed} of ${6 * 768} values by more than 8`);

  // The same images from the sampler with the adapters Train saved (on the graph's test samples).
  const file = await loadSafetensors(join(out, 'model', 'lora.safetensors'));
  const params: Record<string, Tensor> = Object.create(null);
  for (const [k, v] of Object.entries(file.tensors)) if (k.startsWith('param.lora.')) params[k.slice('param.'.length)] = v;
  const model = new ImportedModel(await load('tiny_unet_op17'), 'test', UNET).withLora({ rank: 8, alpha: 8, targets: ['*'] }).withWeights({ params, source: 'test', step: 300 });
  const data = generateInMemory({ ...DEFAULT_CONFIG, seed: 0, targetSize: 64, patchSize: 8, refSize: 32, refPatchSize: 4, kMin: 1, kMax: 1, dip: 'none' }, { test: 6 });
  const again = await sampleImported(model, generationItems(model, data, 0).items, { steps: 20, solver: 'euler', seed: 0, batchSize: 8 });
  again.images.forEach((im, i) => assert.ok(im.data.every((v, j) => Math.abs(v - tuned[i]!.data[j]!) <= 1), `${ids[i]}: the sampler with the saved adapters`));

  // Metrics of both arms, scored against the 64×64 targets: fine-tuning moves the images toward the data.
  const [before, after] = [imagePsnr(join(out, 'metrics/base')), imagePsnr(join(out, 'metrics/tuned'))];
  assert.ok(after > before + 2, `image PSNR ${before.toFixed(2)} → ${after.toFixed(2)} dB`);
});

const engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => {}, 'error'), workspace: testWorkspace });
const graph = (model: Record<string, unknown>, k: number, sample: Record<string, unknown> = {}) => ({
  format: 'tessera-graph',
  version: 1,
  nodes: {
    data: { type: 'semalign/Generate', params: { seed: 1, train: 0, val: 0, test: 3, kMin: k, kMax: k, targetSize: 64, patchSize: 8, refSize: 32, refPatchSize: 4, dip: 'none', write: false, inMemory: true } },
    model,
    sample: { type: 'model/Sample', params: { steps: 3, seed: 4, batchSize: 2, ...sample }, inputs: { model: { node: 'model', output: 'model' }, data: { node: 'data', output: 'samples' } } },
  },
});
const unet = { type: 'model/ImportOnnx', params: { file: join(ROOT, 'test/fixtures/onnx/tiny_unet_op17.onnx'), image: 'x', time: 't', condition: 'c', conditionFrom: 'references', output: 'y' } };

test('determinism: the same graph and seed write byte-identical PNGs; another seed writes other images', async () => {
  const files = async (seed: number) => {
    const outDir = tempDir('import-sample');
    const r = await collectRun(engine.run(graph(unet, 1, { seed }), { outDir, useCache: false }));
    assert.is(r.status, 'done', JSON.stringify(r.errors));
    return readdirSync(join(outDir, 'generated')).sort().map((f) => [f, readFileSync(join(outDir, 'generated', f))] as const);
  };
  const [a, b, c] = [await files(4), await files(4), await files(5)];
  assert.equal(a.map(([f]) => f), ['sheet.png', 'test-0000000.png', 'test-0000001.png', 'test-0000002.png']);
  a.forEach(([f, bytes], i) => assert.ok(bytes.equals(b[i]![1]), `${f}: same bytes on a rerun`));
  assert.not.ok(a[1]![1].equals(c[1]![1]), 'another seed, another image');
});

test('ids that sanitize alike ("a b", "a_b") and the id "sheet" each get their own PNG holding their image; none overwrites another or the sheet', async () => {
  const renaming = await createEngine({ plugins: [...builtinPlugins, renamePlugin], logger: createLogger(() => {}, 'error'), workspace: testWorkspace });
  const g = graph(unet, 1, { steps: 1 }) as { nodes: Record<string, { inputs?: Record<string, unknown> } & Record<string, unknown>> };
  g.nodes.named = { type: 'renametest/Rename', params: { ids: ['a b', 'a_b', 'sheet'] }, inputs: { samples: { node: 'data', output: 'samples' } } };
  g.nodes.sample!.inputs!.data = { node: 'named', output: 'samples' };
  const outDir = tempDir('import-sample-names');
  const r = await collectRun(renaming.run(g, { outDir, useCache: false }));
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const out = r.results.sample! as { images: { data: Uint8Array }[]; files: string[] };
  assert.equal(out.files, ['generated/a_b.png', 'generated/a_b_1.png', 'generated/sheet_2.png', 'generated/sheet.png']);
  assert.equal(readdirSync(join(outDir, 'generated')).sort(), ['a_b.png', 'a_b_1.png', 'sheet.png', 'sheet_2.png']);
  out.files.slice(0, 3).forEach((f, i) => assert.equal(Buffer.from(png(join(outDir, f)).data), Buffer.from(out.images[i]!.data), `${f} holds image ${i}`));
  assert.is(png(join(outDir, 'generated/sheet.png')).height, 6 + 3 * 134, 'the sheet (3 rows), not an image');
});

test('errors: a MOSAIC model is refused naming mosaic/Sample; samples with 2 references for a 1-reference condition name the sample', async () => {
  const mosaic = await collectRun(engine.run(graph({ type: 'mosaic/Model', params: { preset: 'tiny' } }, 1), { outDir: tempDir('import-sample-err') }));
  assert.is(mosaic.status, 'failed');
  assert.match(mosaic.errors[0]!.message, /model\/Sample: the model input must come from model\/ImportOnnx .*got MOSAIC.*MOSAIC models generate with mosaic\/Sample/);
  const k2 = await collectRun(engine.run(graph(unet, 2), { outDir: tempDir('import-sample-err') }));
  assert.is(k2.status, 'failed');
  assert.match(k2.errors[0]!.message, /model\/Sample: sample test-0000000 has 2 references; the condition input takes 1 \(3·K = 3 channels\)/);
});

test.run();
