import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, collectRun } from 'tessera';
import { builtinPlugins } from 'tessera/plugins';
import { encodeModel, DEFAULT_IR_VERSION, DEFAULT_OPSET, type OnnxModel } from 'tessera/kernels';
import plugin from '../index.ts';

const dir = mkdtempSync(join(tmpdir(), 'onnx-embedder-'));
const W = [0.5, -1, 2, 1, 0, -0.5, 0.25, 0.75, 3, -2, 1, 0]; // [3, 4]
const B = [0.1, 0.2, 0.3, 0.4];

/** A tiny encoder built here: global average pool → flatten → Gemm(3 → 4). */
function tinyEncoder(size: number): Uint8Array {
  const model: OnnxModel = {
    irVersion: DEFAULT_IR_VERSION,
    producerName: 'test',
    opsetImports: [{ domain: '', version: DEFAULT_OPSET }],
    graph: {
      name: 'tiny',
      inputs: [{ name: 'pixels', dtype: 'float32', shape: [1, 3, size, size] }],
      outputs: [{ name: 'embedding', dtype: 'float32', shape: [1, 4] }],
      initializers: [
        { name: 'W', dtype: 'float32', dims: [3, 4], data: new Float32Array(W) },
        { name: 'B', dtype: 'float32', dims: [4], data: new Float32Array(B) },
      ],
      valueInfo: [],
      nodes: [
        { opType: 'GlobalAveragePool', inputs: ['pixels'], outputs: ['pooled'], attributes: [] },
        { opType: 'Flatten', inputs: ['pooled'], outputs: ['flat'], attributes: [] },
        { opType: 'Gemm', inputs: ['flat', 'W', 'B'], outputs: ['embedding'], attributes: [] },
      ],
    },
  };
  return encodeModel(model);
}

const graph = (model: string, size = 8) => ({
  format: 'tessera-graph',
  version: 1,
  nodes: {
    img: { type: 'onnx-embedder/TestPattern', params: { size, cell: 2, a: [255, 0, 0], b: [0, 0, 255] } },
    emb: { type: 'onnx-embedder/Embed', params: { model }, inputs: { image: { node: 'img', output: 'image' } } },
  },
});

test('embeds a test pattern with an external .onnx encoder, matching a hand computation', async () => {
  const file = join(dir, 'tiny8.onnx');
  writeFileSync(file, tinyEncoder(8));
  const engine = await createEngine({ plugins: [...builtinPlugins, plugin] });
  const run = await collectRun(engine.run(graph(file)));
  assert.is(run.status, 'done', JSON.stringify(run.errors));
  const emb = run.results.emb!.embedding as { shape: number[]; data: Float32Array };
  assert.equal(emb.shape, [1, 4]);
  // Half the pixels red, half blue: channel means are 0.5, 0, 0.5.
  const mean = [0.5, 0, 0.5];
  const want = B.map((b, j) => b + mean.reduce((s, m, i) => s + m * W[i * 4 + j]!, 0));
  for (let j = 0; j < 4; j++) assert.ok(Math.abs(emb.data[j]! - want[j]!) < 1e-6, `${emb.data[j]} vs ${want[j]}`);
});

test('a model expecting another size fails with both shapes named; a corrupt file names the file', async () => {
  const file = join(dir, 'tiny16.onnx');
  writeFileSync(file, tinyEncoder(16));
  const corrupt = join(dir, 'corrupt.onnx');
  writeFileSync(corrupt, new Uint8Array([0x08, 0xff, 0xff, 0x12, 0x99]));
  const engine = await createEngine({ plugins: [...builtinPlugins, plugin] });
  const a = await collectRun(engine.run(graph(file)));
  assert.match(a.errors[0]!.message, /expects shape \[1, 3, 16, 16\], image gives \[1, 3, 8, 8\]/);
  const b = await collectRun(engine.run(graph(corrupt)));
  assert.match(b.errors[0]!.message, /corrupt\.onnx is not a valid ONNX model/);
  const c = await collectRun(engine.run(graph(join(dir, 'missing.onnx'))));
  assert.is(c.status, 'failed');
});

test('re-runs when the model file changes (fingerprint), not otherwise', async () => {
  const file = join(dir, 'changing.onnx');
  writeFileSync(file, tinyEncoder(8));
  const engine = await createEngine({ plugins: [...builtinPlugins, plugin] });
  await collectRun(engine.run(graph(file)));
  const again = await collectRun(engine.run(graph(file)));
  assert.ok(again.cached.includes('emb'));
  await new Promise((r) => setTimeout(r, 20));
  writeFileSync(file, tinyEncoder(8));
  const changed = await collectRun(engine.run(graph(file)));
  assert.ok(changed.executed.includes('emb'));
});

test.run();
