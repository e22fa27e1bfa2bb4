// ONNX encoder/decoder: round trips, a cross-check with onnx-proto's decoder, and ORT accepting the bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { KernelSession, Tensor, decodeModel, encodeModel, loadOnnxFile, type OnnxModel } from '../../kernels/index.ts';

const onnx = onnxProto.onnx;

function mlpModel(): OnnxModel {
  return {
    irVersion: 10,
    producerName: 'test',
    opsetImports: [{ domain: '', version: 21 }],
    graph: {
      name: 'mlp',
      nodes: [
        { opType: 'MatMul', inputs: ['X', 'W'], outputs: ['XW'], attributes: [] },
        { opType: 'Add', inputs: ['XW', 'b'], outputs: ['Z'], attributes: [] },
        { opType: 'Relu', inputs: ['Z'], outputs: ['R'], attributes: [] },
        { opType: 'ReduceSum', inputs: ['R', 'axes'], outputs: ['S'], attributes: [{ name: 'keepdims', type: 'int', value: 0 }] },
        {
          opType: 'Softmax',
          inputs: ['R'],
          outputs: ['P'],
          name: 'sm',
          attributes: [{ name: 'axis', type: 'int', value: -1 }],
        },
        {
          opType: 'LeakyRelu',
          inputs: ['Z'],
          outputs: ['L'],
          attributes: [{ name: 'alpha', type: 'float', value: 0.25 }],
        },
      ],
      inputs: [{ name: 'X', dtype: 'float32', shape: ['batch', 3] }],
      outputs: [
        { name: 'S', dtype: 'float32', shape: ['batch'] },
        { name: 'P', dtype: 'float32', shape: ['batch', 2] },
        { name: 'L', dtype: 'float32', shape: ['batch', 2] },
      ],
      initializers: [
        { name: 'W', dtype: 'float32', dims: [3, 2], data: Float32Array.from([1, -1, 2, 0.5, -3, 1]) },
        { name: 'b', dtype: 'float32', dims: [2], data: Float32Array.from([0.1, -0.2]) },
        { name: 'axes', dtype: 'int64', dims: [1], data: BigInt64Array.from([-1n]) },
      ],
      valueInfo: [],
    },
  };
}

test('encode → decode round trip keeps graph, attributes and initializers', () => {
  const m = mlpModel();
  const back = decodeModel(encodeModel(m));
  assert.is(back.irVersion, 10);
  assert.equal(back.opsetImports, [{ domain: '', version: 21 }]);
  assert.equal(back.graph.nodes.map((n) => n.opType), ['MatMul', 'Add', 'Relu', 'ReduceSum', 'Softmax', 'LeakyRelu']);
  assert.equal(back.graph.nodes[4]!.attributes, [{ name: 'axis', type: 'int', value: -1 }]);
  assert.is(back.graph.nodes[4]!.name, 'sm');
  const alpha = back.graph.nodes[5]!.attributes[0]!;
  assert.is(alpha.type, 'float');
  assert.is(alpha.value, 0.25);
  assert.equal(back.graph.inputs[0], { name: 'X', dtype: 'float32', shape: ['batch', 3] });
  assert.equal(Array.from(back.graph.initializers[0]!.data as Float32Array), [1, -1, 2, 0.5, -3, 1]);
  assert.equal(Array.from(back.graph.initializers[2]!.data as BigInt64Array), [-1n]);
  // Re-encoding the decoded model reproduces the bytes exactly.
  assert.equal(encodeModel(back), encodeModel(m));
});

test('onnx-proto decodes our bytes identically (independent cross-check)', () => {
  const bytes = encodeModel(mlpModel());
  const p = onnx.ModelProto.decode(bytes);
  assert.is(Number(p.irVersion), 10);
  assert.is(Number(p.opsetImport[0]!.version), 21);
  const g = p.graph as Required<onnxProto.onnx.IGraphProto> & { node: onnxProto.onnx.INodeProto[] };
  assert.is(g.node.length, 6);
  assert.is(g.node[4]!.attribute![0]!.name, 'axis');
  assert.is(Number(g.node[4]!.attribute![0]!.i), -1);
  assert.is(g.node[5]!.attribute![0]!.f, 0.25);
  assert.is(g.initializer![0]!.dims!.map(Number).join(','), '3,2');
  assert.is(g.input![0]!.type!.tensorType!.shape!.dim![0]!.dimParam, 'batch');
  assert.is(Number(g.input![0]!.type!.tensorType!.shape!.dim![1]!.dimValue), 3);
});

test('decoder reads tensors written with typed fields (float_data, int64_data) by other producers', () => {
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'x',
      node: [{ opType: 'Add', input: ['A', 'B'], output: ['C'] }],
      initializer: [
        { name: 'B', dims: [3], dataType: 1, floatData: [1.5, -2, 3] },
        { name: 'I', dims: [2], dataType: 7, int64Data: [5, -7] },
        { name: 'D', dims: [1], dataType: 11, doubleData: [0.125] },
      ],
      input: [{ name: 'A', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 3 }] } } } }],
      output: [{ name: 'C', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 3 }] } } } }],
    },
  });
  const m = decodeModel(onnx.ModelProto.encode(proto).finish());
  assert.equal(Array.from(m.graph.initializers[0]!.data as Float32Array), [1.5, -2, 3]);
  assert.equal(Array.from(m.graph.initializers[1]!.data as BigInt64Array), [5n, -7n]);
  assert.equal(Array.from(m.graph.initializers[2]!.data as Float64Array), [0.125]);
  assert.is(m.opsetImports[0]!.version, 17);
});

test('ORT runs the encoded model with a symbolic batch dim; file load works', async () => {
  const s = await KernelSession.create(encodeModel(mlpModel()));
  const out = await s.run({ X: Tensor.from([[1, 0, 0], [0, 1, 1]]) });
  // Z = [[1.1, -1.2], [-0.9, 1.3]] → R = [[1.1, 0], [0, 1.3]]
  assert.ok(Math.abs(out.S!.toArray()[0]! - 1.1) < 1e-6);
  assert.ok(Math.abs(out.S!.toArray()[1]! - 1.3) < 1e-6);
  assert.equal(out.P!.shape, [2, 2]);
  const dir = await mkdtemp(join(tmpdir(), 'kern-onnx-'));
  try {
    const file = join(dir, 'm.onnx');
    await writeFile(file, encodeModel(mlpModel()));
    const m = await loadOnnxFile(file);
    assert.equal(m.graph.initializers.map((t) => t.name), ['W', 'b', 'axes']);
    const s2 = await KernelSession.create(m);
    const out2 = await s2.run({ X: Tensor.from([[1, 0, 0]]) }, ['S']);
    assert.ok(Math.abs(out2.S!.item() - 1.1) < 1e-6);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('decoder rejects truncated bytes with a clear error', () => {
  const bytes = encodeModel(mlpModel());
  assert.throws(() => decodeModel(bytes.subarray(0, bytes.length - 7)), /protobuf: truncated/);
});

test.run();
