// Importing a decoded external ONNX graph into the tracer: same outputs, inner tensors exposed,
// gradients through the imported weights, clear errors for unsupported ops.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Graph,
  KernelSession,
  Tensor,
  Trainer,
  decodeModel,
  encodeModel,
  importOnnx,
  init,
  ops as o,
  sgd,
  type OnnxModel,
} from '../../kernels/index.ts';
import { throwsWith } from './util.ts';

/** An "exported encoder" written by hand in raw ONNX (as another tool would), with initializers. */
function encoderModel(): OnnxModel {
  const f = (name: string, dims: number[], k: number) => ({
    name,
    dtype: 'float32' as const,
    dims,
    data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * k + 1) * 0.5),
  });
  return {
    irVersion: 8,
    producerName: 'other-tool',
    opsetImports: [{ domain: '', version: 20 }],
    graph: {
      name: 'enc',
      nodes: [
        { opType: 'Conv', name: 'patch', inputs: ['img', 'Wp', 'bp'], outputs: ['p'], attributes: [{ name: 'strides', type: 'ints', value: [2, 2] }] },
        { opType: 'Flatten', inputs: ['p'], outputs: ['flat'], attributes: [{ name: 'axis', type: 'int', value: 1 }] },
        { opType: 'Gemm', inputs: ['flat', 'W1', 'b1'], outputs: ['h'], attributes: [{ name: 'transB', type: 'int', value: 1 }] },
        { opType: 'Gelu', inputs: ['h'], outputs: ['g'], attributes: [] },
        { opType: 'Unsqueeze', inputs: ['g', 'ax'], outputs: ['g3'], attributes: [] },
        { opType: 'LayerNormalization', inputs: ['g3', 'gam', 'bet'], outputs: ['n'], attributes: [{ name: 'epsilon', type: 'float', value: 1e-5 }] },
        { opType: 'Softmax', inputs: ['n'], outputs: ['out'], attributes: [{ name: 'axis', type: 'int', value: -1 }] },
      ],
      inputs: [{ name: 'img', dtype: 'float32', shape: [2, 1, 4, 4] }],
      outputs: [{ name: 'out', dtype: 'float32', shape: [2, 1, 3] }],
      initializers: [
        f('Wp', [2, 1, 2, 2], 0.7),
        f('bp', [2], 0.3),
        f('W1', [3, 8], 0.11),
        f('b1', [3], 0.5),
        { name: 'ax', dtype: 'int64', dims: [1], data: BigInt64Array.from([1n]) },
        f('gam', [3], 0.9),
        f('bet', [3], 0.2),
      ],
      valueInfo: [],
    },
  };
}

const img = new Tensor('float32', [2, 1, 4, 4], Float32Array.from({ length: 32 }, (_, i) => Math.cos(i)));

test('imported graph computes what ORT computes on the original bytes, and exposes inner tensors', async () => {
  const bytes = encodeModel(encoderModel());
  const direct = await (await KernelSession.create(bytes)).run({ img });
  const g = new Graph();
  const t = importOnnx(g, decodeModel(bytes), { img: g.input('img', [2, 1, 4, 4]) });
  assert.equal(t.p!.shape, [2, 2, 2, 2]);
  const s = await KernelSession.create(g.toModel({ out: t.out!, h: t.h! }));
  const r = await s.run({ img });
  const err = Math.max(...r.out!.toArray().map((v, i) => Math.abs(v - direct.out!.toArray()[i]!)));
  assert.ok(err < 1e-6, `max error ${err}`);
  assert.equal(r.h!.shape, [2, 3]);
});

test('imported weights as frozen params + a trainable adapter: training moves only the adapter', async () => {
  const bytes = encodeModel(encoderModel());
  const target = new Tensor('float32', [2, 3], Float32Array.from([1, 0, 0, 0, 0, 1]));
  const t = await Trainer.create(
    (g) => {
      const x = g.input('img', [2, 1, 4, 4]);
      const y = g.input('y', [2, 3]);
      const enc = importOnnx(g, decodeModel(bytes), { img: x }, { params: 'frozen', prefix: 'enc.' });
      const adapter = g.param('adapter', [3, 3], { init: init.zeros() });
      const h = o.add(enc.h!, enc.h!.matmul(adapter));
      return { loss: h.softmax().sub(y).square().mean() };
    },
    { optimizer: sgd({ lr: 0.5 }) },
  );
  assert.equal(t.layout.trainable.map((s) => s.name), ['adapter']);
  assert.ok(t.layout.frozen.some((s) => s.name === 'enc.W1'));
  const before = t.getParams()['enc.W1']!.toArray();
  const l0 = (await t.step({ img, y: target })).loss;
  for (let i = 0; i < 10; i++) await t.step({ img, y: target });
  const l1 = (await t.step({ img, y: target })).loss;
  assert.ok(l1 < l0, `loss ${l0} → ${l1}`);
  assert.equal(t.getParams()['enc.W1']!.toArray(), before);
});

test('unsupported op and missing input are TraceErrors naming the node', () => {
  const m = encoderModel();
  m.graph.nodes.push({ opType: 'TopK', name: 'topk', inputs: ['out', 'ax'], outputs: ['v', 'i'], attributes: [] });
  const g = new Graph();
  throwsWith(() => importOnnx(g, m, { img: g.input('img', [2, 1, 4, 4]) }), /importOnnx: node 'topk' \(#7, TopK\): op TopK is not supported by the importer/);
  const g2 = new Graph();
  throwsWith(() => importOnnx(g2, encoderModel(), {}), /graph input 'img' has no tensor/);
});

test.run();
