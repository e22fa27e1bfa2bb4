// LoRA on a Conv copies the conv's geometry: a strided, padded conv gets an adapter of the same
// output size (B = 0 reproduces the export exactly); a grouped, dilated, asymmetric-stride or
// asymmetric-pad conv is refused by node name instead of failing later with a shape error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph, KernelSession, Tensor, importOnnxModel, loraRewrites, type OnnxAttribute, type OnnxModel } from '../../kernels/index.ts';
import type { RewriteSite } from '../../kernels/trace/importRewrite.ts';
import { throwsWith } from './util.ts';

const weights = (dims: number[], k: number) => Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * k + 1) * 0.5);

/** One Conv 'patch' (weight [4, 2, 3, 3]) over an image [1, 2, 6, 6] with the given attributes. */
function convModel(attributes: OnnxAttribute[]): OnnxModel {
  return {
    irVersion: 8,
    producerName: 'test',
    opsetImports: [{ domain: '', version: 17 }],
    graph: {
      name: 'conv',
      nodes: [{ opType: 'Conv', name: 'patch', inputs: ['img', 'W'], outputs: ['y'], attributes }],
      inputs: [{ name: 'img', dtype: 'float32', shape: [1, 2, 6, 6] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: null }],
      initializers: [{ name: 'W', dtype: 'float32', dims: [4, 2, 3, 3], data: weights([4, 2, 3, 3], 0.7) }],
      valueInfo: [],
    },
  };
}

async function run(model: OnnxModel, lora: boolean): Promise<{ values: number[]; shape: number[]; params: Map<string, readonly number[]> }> {
  const g = new Graph();
  const x = g.input('img', [1, 2, 6, 6]);
  const { tensors } = importOnnxModel(g, model, { img: x }, { params: 'frozen', rewrites: lora ? loraRewrites(g, { targets: ['patch'], rank: 2 }) : [] });
  const feeds: Record<string, Tensor> = { img: new Tensor('float32', [1, 2, 6, 6], Float32Array.from({ length: 72 }, (_, i) => Math.cos(i))) };
  const params = new Map<string, readonly number[]>();
  for (const [p, info] of g.params) {
    params.set(p, info.shape);
    const n = info.shape.reduce((a, b) => a * b, 1);
    // Import weights by value; A non-zero, B as initialised (zeros).
    feeds[p] = info.init.kind === 'values' ? info.init.tensor : new Tensor('float32', [...info.shape], Float32Array.from({ length: n }, (_, i) => (info.init.kind === 'constant' ? info.init.value : Math.sin(i + 1) * 0.1)));
  }
  const session = await KernelSession.create(g.toModel({ y: tensors.y! }));
  try {
    const y = (await session.run(feeds)).y!;
    return { values: y.toArray(), shape: [...y.shape], params };
  } finally {
    await session.release();
  }
}

test('LoRA on a stride-2, pad-1 Conv: the adapter has the conv kernel, output [1, 4, 3, 3] as exported, B = 0 reproduces it', async () => {
  const m = convModel([
    { name: 'strides', type: 'ints', value: [2, 2] },
    { name: 'pads', type: 'ints', value: [1, 1, 1, 1] },
  ]);
  const plain = await run(m, false);
  const lora = await run(m, true);
  assert.equal(plain.shape, [1, 4, 3, 3]);
  assert.equal(lora.shape, plain.shape);
  assert.equal(lora.values, plain.values);
  assert.equal(lora.params.get('lora.W.A'), [2, 2, 3, 3]);
  assert.equal(lora.params.get('lora.W.B'), [4, 2, 1, 1]);
});

test('LoRA refuses a grouped, dilated, asymmetric-stride or asymmetric-pad Conv, naming the node and why', () => {
  const cases: [OnnxAttribute[], number[], RegExp][] = [
    // Depthwise: weight [2, 1, 3, 3] over 2 channels.
    [[{ name: 'group', type: 'int', value: 2 }], [2, 1, 3, 3], /group 2/],
    [[{ name: 'dilations', type: 'ints', value: [2, 2] }], [4, 2, 3, 3], /dilations \[2, 2\]/],
    [[{ name: 'strides', type: 'ints', value: [2, 1] }], [4, 2, 3, 3], /strides \[2, 1\]/],
    [[{ name: 'pads', type: 'ints', value: [0, 0, 1, 1] }], [4, 2, 3, 3], /pads \[0, 0, 1, 1\]/],
  ];
  for (const [attributes, wdims, why] of cases) {
    const g = new Graph();
    const x = g.input('img', [1, 2, 6, 6]);
    const w = g.input('W', wdims);
    // The site as the importer hands it to a rewrite (the importer itself refuses these convs today).
    const site: RewriteSite = {
      tensor: 'y',
      index: 0,
      node: { opType: 'Conv', name: 'blocks.0/dw/Conv', inputs: ['img', 'W'], outputs: ['y'], attributes },
      module: 'blocks.0.dw',
      weights: [{ slot: 1, initializer: 'W', param: 'W', torchName: 'blocks.0.dw.weight' }],
      input: (i) => [x, w][i]!,
    };
    const [rewrite] = loraRewrites(g, { targets: ['blocks.*.dw'], rank: 2 });
    assert.ok(typeof rewrite!.match === 'function' && rewrite!.match(site), 'the target matches the site');
    const out = g.input('y', [1, wdims[0]!, 4, 4]);
    const e = throwsWith(() => rewrite!.rewrite(out, site), /lora: cannot wrap Conv node 'blocks\.0\/dw\/Conv' \(blocks\.0\.dw\): .*leave this layer out of the targets/);
    assert.match(e.message, why);
  }
});

test.run();
