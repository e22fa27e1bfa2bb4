// The importer's elementwise, comparison and reduction ops that no PyTorch fixture happens to use:
// each in a one-node ONNX graph, imported, must compute what ORT computes on the original bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_IR_VERSION, DEFAULT_OPSET, Graph, KernelSession, Tensor, decodeModel, encodeModel, importOnnx, type OnnxAttribute, type OnnxModel } from '../../kernels/index.ts';

const SHAPE = [2, 3];
const a = new Tensor('float32', SHAPE, Float32Array.from([0.5, -1.25, 2, 0.75, -0.1, 1.5]));
const b = new Tensor('float32', SHAPE, Float32Array.from([0.25, -1.25, 3, -0.5, 0.2, 1]));
const positive = new Tensor('float32', SHAPE, Float32Array.from([0.25, 1.25, 3, 0.5, 0.2, 1]));

/** One node reading a (and b); comparisons/logic are cast back to float so outputs compare alike. */
function oneNode(opType: string, inputs: string[], attributes: OnnxAttribute[] = [], outShape = SHAPE, boolOut = false, boolIn = false): OnnxModel {
  const nodes = [];
  const ins = boolIn ? inputs.map((n) => `${n}_b`) : inputs;
  if (boolIn) for (const n of inputs) nodes.push({ opType: 'Greater', inputs: [n, 'zero'], outputs: [`${n}_b`], attributes: [] });
  nodes.push({ opType, name: opType, inputs: ins, outputs: [boolOut ? 'r' : 'y'], attributes });
  if (boolOut) nodes.push({ opType: 'Cast', inputs: ['r'], outputs: ['y'], attributes: [{ name: 'to', type: 'int', value: 1 } as OnnxAttribute] });
  return {
    irVersion: DEFAULT_IR_VERSION,
    producerName: 'test',
    opsetImports: [{ domain: '', version: DEFAULT_OPSET }],
    graph: {
      name: opType,
      nodes,
      inputs: inputs.filter((n) => n !== 'axes').map((name) => ({ name, dtype: 'float32' as const, shape: SHAPE })),
      outputs: [{ name: 'y', dtype: 'float32', shape: outShape }],
      initializers: [{ name: 'zero', dtype: 'float32', dims: [], data: new Float32Array(1) }, { name: 'axes', dtype: 'int64', dims: [1], data: BigInt64Array.from([1n]) }],
      valueInfo: [],
    },
  };
}

const CASES: [string, OnnxModel][] = [
  ...['Abs', 'Exp', 'Neg', 'Relu', 'Tanh', 'Reciprocal'].map((op) => [op, oneNode(op, ['a'])] as [string, OnnxModel]),
  ['Log', oneNode('Log', ['b'])],
  ['Max', oneNode('Max', ['a', 'b'])],
  ['Min', oneNode('Min', ['a', 'b'])],
  ...['Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual'].map((op) => [op, oneNode(op, ['a', 'b'], [], SHAPE, true)] as [string, OnnxModel]),
  ['And', oneNode('And', ['a', 'b'], [], SHAPE, true, true)],
  ['Not', oneNode('Not', ['a'], [], SHAPE, true, true)],
  ['LogSoftmax', oneNode('LogSoftmax', ['a'], [{ name: 'axis', type: 'int', value: 1 }])],
  ['ReduceSum', oneNode('ReduceSum', ['a', 'axes'], [{ name: 'keepdims', type: 'int', value: 0 }], [2])],
  ['ReduceMax', oneNode('ReduceMax', ['a'], [{ name: 'axes', type: 'ints', value: [1] }, { name: 'keepdims', type: 'int', value: 1 }], [2, 1])],
];

for (const [op, model] of CASES) {
  test(`${op}: the import computes what ORT computes on the original`, async () => {
    // ReduceMax takes axes as an attribute up to opset 17.
    if (op === 'ReduceMax') model.opsetImports = [{ domain: '', version: 17 }];
    const bytes = encodeModel(model);
    const feeds: Record<string, Tensor> = Object.create(null);
    for (const i of model.graph.inputs) feeds[i.name] = i.name === 'a' ? a : op === 'Log' ? positive : b;
    const direct = await KernelSession.create(bytes);
    const g = new Graph();
    const inputs = Object.create(null) as Record<string, ReturnType<Graph['input']>>;
    for (const i of model.graph.inputs) inputs[i.name] = g.input(i.name, SHAPE);
    const t = importOnnx(g, decodeModel(bytes), inputs);
    const imported = await KernelSession.create(g.toModel({ y: t.y! }));
    try {
      const want = (await direct.run(feeds)).y!;
      const got = (await imported.run(feeds)).y!;
      assert.equal(got.shape, want.shape);
      got.toArray().forEach((v, i) => assert.ok(Math.abs(v - want.toArray()[i]!) < 1e-6, `${op}[${i}]: ${v} vs ${want.toArray()[i]}`));
    } finally {
      await direct.release();
      await imported.release();
    }
  });
}

test.run();
