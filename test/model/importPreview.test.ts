// SCALoss's and MDLoss's preview heatmaps on imported models: the correspondence map of one sample
// (model.evaluateTaps: [target noised to t; its references clean], as a training step lays it out)
// equals the map of the export replayed alone with q/k read by name and built on the host, and
// the nodes draw it: through the engine, SCALoss and MDLoss on the tiny DiT (K = 2, untrained:
// the export's own weights) output a real panel, not the blank pixel, that differs between two
// preview samples, with the loss values of those maps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { collectRun, createEngine, createLogger, type ImageValue } from 'tessera';
import { Graph, KernelSession, Tensor, importOnnx, type OnnxModel, type Sym } from '../../kernels/index.ts';
import { correspondenceMap, correspondenceMapReference, mdlReference, mdlRowWeights, scalReference, scalTargets } from '../../plugins/mosaic/index.ts';
import { ImportedModel, type ModelMapping } from '../../plugins/model/index.ts';
import { boxDownsample } from '../../plugins/model/images.ts';
import { imagesToTensor } from '../../plugins/latent/index.ts';
import type { SemAlignSample } from '../../plugins/semalign/index.ts';
import { tempDir } from '../semalign/helpers.ts';
import { DIT, UNET, heads, load, samples } from './tapStep.ts';

/** The map [K·L, N] of the export alone on [target; references] at t = 0 (each row with the sample's condition), on the host. */
async function hostMap(onnx: OnnxModel, mapping: ModelMapping, s: SemAlignSample, size: number): Promise<Float64Array> {
  const K = s.refs.length;
  const rows = 1 + K;
  const x = imagesToTensor([s.target, ...s.refs].map((im) => boxDownsample(im, size, size, 'x')));
  const g = new Graph();
  const inputs: Record<string, Sym> = { x: g.input('x', x.shape), t: g.input('t', [rows]) };
  const feeds: Record<string, Tensor> = { x, t: new Tensor('float32', [rows]) };
  if (mapping.condition) {
    const refs = imagesToTensor(s.refs.map((im) => boxDownsample(im, size, size, 'c'))).data as Float32Array;
    const c = new Float32Array(rows * refs.length);
    for (let r = 0; r < rows; r++) c.set(refs, r * refs.length);
    inputs[mapping.condition] = g.input('c', [rows, 3 * K, size, size]);
    feeds.c = new Tensor('float32', [rows, 3 * K, size, size], c);
  }
  const tensors = importOnnx(g, onnx, inputs, { params: 'frozen' });
  for (const [name, info] of g.params) if (info.init.kind === 'values') feeds[name] = info.init.tensor;
  const outs: Record<string, Sym> = {};
  mapping.attention.forEach((a, i) => {
    outs[`q${i}`] = tensors[a.q]!;
    outs[`k${i}`] = tensors[a.k]!;
  });
  const session = await KernelSession.create(g.toModel(outs));
  const got = await session.run(feeds);
  await session.release();
  const qs: Float64Array[] = [];
  const ks: Float64Array[] = [];
  let dims = { B: 1, H: 0, R: 0, N: 0, d: 0 };
  mapping.attention.forEach((_, i) => {
    const q = got[`q${i}`]!;
    const h = q.shape.length === 4 ? q.shape[1]! : mapping.heads;
    const qh = heads(q, h);
    const kh = heads(got[`k${i}`]!, h);
    const T = q.shape.length === 4 ? q.shape[2]! : q.shape[1]!;
    const d = qh[0]!.length / h / T;
    // Sample 0's references' rows, per head [K·T, d] in reference order.
    const qRef = new Float64Array(h * K * T * d);
    for (let hh = 0; hh < h; hh++) for (let j = 0; j < K; j++) qRef.set(qh[1 + j]!.slice(hh * T * d, (hh + 1) * T * d), (hh * K + j) * T * d);
    qs.push(qRef);
    ks.push(kh[0]!);
    dims = { B: 1, H: h, R: K * T, N: T, d };
  });
  return correspondenceMapReference(qs, ks, dims);
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => a.length === b.length && Array.from(a).every((v, i) => Math.abs(v - b[i]!) <= tol);

test('evaluateTaps at t = 0 gives the map of the export alone on [target; references]: tiny DiT (K = 2, two blocks) and the UNet (reference condition, 2 heads)', async () => {
  for (const [name, mapping, data, size] of [
    ['tiny_dit_op17', DIT, samples(2, { patchSize: 16, refPatchSize: 8 }, 2), 16],
    ['tiny_unet_op17', UNET, samples(1, { patchSize: 8, refPatchSize: 4 }, 2), 16],
  ] as const) {
    const onnx = await load(name);
    const model = new ImportedModel(onnx, 'test', mapping);
    const maps: Float32Array[] = [];
    for (const s of data) {
      const out = await model.evaluateTaps(s, 0, 0, (_g, taps) => ({ map: correspondenceMap(taps) }));
      const map = out.map!.data as Float32Array;
      const host = await hostMap(onnx, mapping, s, size);
      assert.ok(close(map, host, 1e-5), `${name} ${s.annotation.id}: map equals the host's`);
      const N = out.map!.shape[2]!;
      assert.ok(map.some((v) => Math.abs(v - 1 / N) > 1e-3), `${name}: the map is not uniform`);
      maps.push(map);
    }
    assert.not.ok(close(maps[0]!, maps[1]!, 1e-4), `${name}: two samples give two maps`);
  }
  // LoRA without weights is the export (adapters start as a no-op); t moves the target's noise.
  const onnx = await load('tiny_dit_op17');
  const s = samples(2, { patchSize: 16, refPatchSize: 8 }, 1)[0]!;
  const fn = (_g: Graph, taps: Parameters<Parameters<ImportedModel['evaluateTaps']>[3]>[1]) => ({ map: correspondenceMap(taps) });
  const plain = (await new ImportedModel(onnx, 'test', DIT).evaluateTaps(s, 0.5, 1, fn)).map!.data as Float32Array;
  const lora = (await new ImportedModel(onnx, 'test', DIT).withLora({ rank: 2, alpha: 2, targets: ['blocks.*.qkv'] }).evaluateTaps(s, 0.5, 1, fn)).map!.data as Float32Array;
  assert.ok(close(plain, lora, 0), 'untrained LoRA: the export’s map');
  const clean = (await new ImportedModel(onnx, 'test', DIT).evaluateTaps(s, 0, 1, fn)).map!.data as Float32Array;
  assert.not.ok(close(plain, clean, 1e-6), 'the target noised to t = 0.5 changes the map');
  let err = '';
  await new ImportedModel(onnx, 'test', DIT).evaluateTaps(samples(2, { patchSize: 16, refPatchSize: 8 }, 1)[0]!.target, 0, 0, fn).catch((e: Error) => (err = e.message));
  assert.match(err, /no SemAlign sample/);
});

const isBlank = (im: ImageValue) => im.width === 1 && im.height === 1;

test('SCALoss and MDLoss on an imported model: real heatmap panels (not blank) that differ between two preview samples, and the preview loss values', async () => {
  const mosaic = (await import('../../plugins/mosaic/index.ts')).default;
  const model = (await import('../../plugins/model/index.ts')).default;
  const core = (await import('../../plugins/core/index.ts')).default;
  const semalign = (await import('../../plugins/semalign/index.ts')).default;
  const engine = await createEngine({ plugins: [core, semalign, model, mosaic], logger: createLogger(() => {}, 'error') });
  const preview = (type: string, index: number) => ({ type, params: { preset: 'paper', previewIndex: index, previewT: 0 }, inputs: { model: { node: 'import', output: 'model' }, preview: { node: 'data', output: 'samples' } } });
  const nodes = {
    data: { type: 'semalign/Generate', params: { seed: 3, train: 3, val: 0, test: 0, kMin: 2, kMax: 2, targetSize: 64, patchSize: 16, refSize: 32, refPatchSize: 8, dip: 'none', write: false, inMemory: true } },
    import: { type: 'model/ImportOnnx', params: { file: 'test/fixtures/onnx/tiny_dit_op17.onnx', image: 'x', time: 't', condition: '', output: 'y', timeScale: 1, attention: DIT.attention.map((a) => `${a.q}=${a.k}`).join(', ') } },
    scal0: preview('mosaic/SCALoss', 0),
    scal1: preview('mosaic/SCALoss', 1),
    mdl0: preview('mosaic/MDLoss', 0),
  };
  const r = await collectRun(engine.run({ format: 'tessera-graph', version: 1, name: 'preview', nodes }, { outDir: tempDir('import-preview'), useCache: false, targets: ['data', 'scal0', 'scal1', 'mdl0'] }));
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const out = (id: string) => r.results[id] as { value: number; heatmaps: ImageValue };
  const [a, b, m] = [out('scal0'), out('scal1'), out('mdl0')];
  for (const p of [a, b, m]) {
    assert.not.ok(isBlank(p.heatmaps), 'a panel, not the blank pixel');
    // 2 references: a row each of the reference (32·3 px) and two target maps (64·3 px), 6 px gaps.
    assert.equal([p.heatmaps.width, p.heatmaps.height], [96 + 2 * 192 + 4 * 6, 2 * (192 + 6) + 6]);
    assert.ok(new Set(p.heatmaps.data).size > 50, 'the panel has content');
  }
  assert.equal(Array.from(a.heatmaps.data), Array.from(m.heatmaps.data), 'SCALoss and MDLoss draw the same map of the same sample');
  assert.not.ok(Array.from(a.heatmaps.data).every((v, i) => v === b.heatmaps.data[i]), 'two samples, two panels');

  // The values are SCAL and MDL of the map evaluateTaps gives for that sample.
  const data = r.results.data as { samples: SemAlignSample[] };
  const onnx = await load('tiny_dit_op17');
  const tap = new ImportedModel(onnx, 'test', DIT);
  for (const [p, s] of [[a, data.samples[0]!], [b, data.samples[1]!]] as const) {
    const map = Float64Array.from((await tap.evaluateTaps(s, 0, 0, (_g, taps) => ({ map: correspondenceMap(taps) }))).map!.data as Float32Array);
    const w = scalTargets([s], { mode: 'reference', refPatches: 16, targetPatches: 16 });
    const scal = scalReference(map, Float64Array.from(w.data as Float32Array), { B: 1, R: 32, N: 16 });
    assert.ok(Math.abs(p.value - scal) < 1e-9 * scal, `SCAL preview ${p.value} vs ${scal}`);
    if (p === a) {
      const rw = mdlRowWeights([s], { mode: 'points', refPatches: 16 });
      const mdl = mdlReference(map, Float64Array.from(rw.data as Float32Array), { B: 1, K: 2, R: 32, N: 16 }, 'skl');
      assert.ok(mdl < 0 && Math.abs(m.value - mdl) < 1e-9 * Math.abs(mdl), `MDL preview ${m.value} vs ${mdl}`);
    }
  }
});

test.run();
