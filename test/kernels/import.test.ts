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
  grad,
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

const i64 = (name: string, values: number[], dims = [values.length]) => ({ name, dtype: 'int64' as const, dims, data: BigInt64Array.from(values.map(BigInt)) });
const node = (opType: string, inputs: string[], outputs: string[], attributes: OnnxModel['graph']['nodes'][number]['attributes'] = []) => ({ opType, name: outputs[0]!, inputs, outputs, attributes });

/** What PyTorch writes for x.reshape(x.shape[0], -1) + bias.expand(x.shape[0], 12) with a dynamic batch. */
function computedShapeModel(): OnnxModel {
  return {
    irVersion: 8,
    producerName: 'pytorch',
    opsetImports: [{ domain: '', version: 17 }],
    graph: {
      name: 'shapes',
      nodes: [
        node('Shape', ['x'], ['s']),
        node('Gather', ['s', 'zero'], ['b'], [{ name: 'axis', type: 'int', value: 0 }]),
        node('Unsqueeze', ['b', 'ax0'], ['b1']),
        node('Concat', ['b1', 'minus1'], ['target'], [{ name: 'axis', type: 'int', value: 0 }]),
        node('Reshape', ['x', 'target'], ['flat']),
        node('Shape', ['flat'], ['fs']),
        node('ConstantOfShape', ['two'], ['ones'], [{ name: 'value', type: 'tensor', value: i64('v', [1]) }]),
        node('Mul', ['ones', 'minus1'], ['neg']),
        node('Equal', ['fs', 'neg'], ['isNeg']),
        node('Where', ['isNeg', 'ones', 'fs'], ['expandTo']),
        node('Expand', ['bias', 'expandTo'], ['bb']),
        node('Add', ['flat', 'bb'], ['y']),
      ],
      inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3, 4] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['batch', 12] }],
      initializers: [
        i64('zero', [0], []),
        i64('ax0', [0]),
        i64('minus1', [-1]),
        i64('two', [2]),
        { name: 'bias', dtype: 'float32', dims: [12], data: Float32Array.from({ length: 12 }, (_, i) => i / 10) },
      ],
      valueInfo: [],
    },
  };
}

test('Shape and integer shape arithmetic fold on the host: computed reshape/expand targets import at any batch', async () => {
  const bytes = encodeModel(computedShapeModel());
  for (const batch of [2, 5]) {
    const x = new Tensor('float32', [batch, 3, 4], Float32Array.from({ length: batch * 12 }, (_, i) => Math.sin(i)));
    const direct = (await (await KernelSession.create(bytes)).run({ x })).y!;
    const g = new Graph();
    const t = importOnnx(g, decodeModel(bytes), { x: g.input('x', [batch, 3, 4]) });
    assert.equal(t.y!.shape, [batch, 12]);
    // Every shape computation folded away: the traced graph holds no Shape node.
    assert.not.ok(g.nodes.some((n) => n.opType === 'Shape' || n.opType === 'ConstantOfShape'));
    const r = (await (await KernelSession.create(g.toModel({ y: t.y! }))).run({ x })).y!;
    assert.equal(r.toArray(), direct.toArray());
  }
});

test('a reshape target computed from run-time values is an error naming the node and its position', () => {
  const m = computedShapeModel();
  m.graph.inputs.push({ name: 'n', dtype: 'int64', shape: [2] });
  m.graph.nodes[4] = node('Reshape', ['x', 'n'], ['flat']);
  const g = new Graph();
  throwsWith(
    () => importOnnx(g, m, { x: g.input('x', [2, 3, 4]), n: g.input('n', [2], 'int64') }),
    /importOnnx: node 'flat' \(#4, Reshape\) needs constant 'n', but it depends on run-time values/,
  );
});

/** Two MatMuls whose weights the exporter merged: w2 = Identity(w1). */
function tiedModel(): OnnxModel {
  return {
    irVersion: 8,
    producerName: 'pytorch',
    opsetImports: [{ domain: '', version: 17 }],
    graph: {
      name: 'tied',
      nodes: [node('Identity', ['w1'], ['w2']), node('MatMul', ['x', 'w1'], ['h']), node('MatMul', ['h', 'w2'], ['y'])],
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 2] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [1, 2] }],
      initializers: [{ name: 'w1', dtype: 'float32', dims: [2, 2], data: Float32Array.from([1, 0, 0, 1]) }],
      valueInfo: [],
    },
  };
}

test('tied initializers behind Identity become one param per PyTorch name, or stay shared on request', async () => {
  const g = new Graph();
  const t = importOnnx(g, tiedModel(), { x: g.input('x', [1, 2]) }, { params: 'trainable' });
  assert.equal([...g.params.keys()].sort(), ['w1', 'w2']);
  assert.is.not(t.w1, t.w2);
  const [d1, d2] = grad(t.y!.sum(), [t.w1!, t.w2!]);
  const feeds = { x: Tensor.from([[1, 2]]), w1: Tensor.from([[1, 0], [0, 1]]), w2: Tensor.from([[1, 0], [0, 1]]) };
  const r = await (await KernelSession.create(g.toModel({ d1: d1!, d2: d2! }))).run(feeds);
  // y = x·w1·w2 at identity weights: d/dw1 = xᵀ·1·w2ᵀ, d/dw2 = (x·w1)ᵀ·1 — equal here, but separate tensors.
  assert.equal(r.d1!.toArray(), [1, 1, 2, 2]);
  assert.equal(r.d2!.toArray(), [1, 1, 2, 2]);
  const kept = new Graph();
  importOnnx(kept, tiedModel(), { x: kept.input('x', [1, 2]) }, { params: 'trainable', tiedWeights: 'keep' });
  assert.equal([...kept.params.keys()], ['w1']);
});

test('an inputs entry that names no graph input or initializer is refused, listing close names', () => {
  const g = new Graph();
  const x = g.input('img', [2, 1, 4, 4]);
  throwsWith(() => importOnnx(g, encoderModel(), { img: x, W11: g.constant(Tensor.zeros([3, 8])) }), /'inputs' names 'W11', which is no graph input or initializer; close names: W1/);
  // A replacement for a real initializer (e.g. a LoRA-merged weight) is used instead of the stored one.
  const g2 = new Graph();
  const t = importOnnx(g2, encoderModel(), { img: g2.input('img', [2, 1, 4, 4]), W1: g2.constant(Tensor.zeros([3, 8])) });
  assert.ok(t.h);
  assert.not.ok(g2.params.size);
});

test.run();
