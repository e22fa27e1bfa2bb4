// PyTorch exports (test/fixtures/onnx, made by bench/importer/export_fixtures.py with torch 1.13,
// dynamic batch/token axes, opsets 13 and 17): the imported graph's forward output, loss and
// every parameter gradient match what PyTorch autograd computed at export time. No Python here:
// the tests read only the committed .onnx and .json files.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph, KernelSession, Tensor, grad, importOnnx, loadOnnxFile, type Sym } from '../../kernels/index.ts';

const DIR = new URL('../fixtures/onnx/', import.meta.url);

interface Values {
  shape: number[];
  values: number[];
}
interface Reference {
  opset: number;
  dtype: 'float32' | 'float64';
  inputs: Record<string, Values>;
  output: Values;
  weights: number[];
  loss: number;
  grads: Record<string, Values>;
}

/** max |a − b| / max |b|: relative to the tensor's scale, so near-zero elements do not dominate. */
function relErr(a: ArrayLike<number>, b: readonly number[]): number {
  assert.is(a.length, b.length);
  let num = 0;
  let den = 1e-30;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

async function checkAgainstTorch(name: string): Promise<void> {
  const ref = JSON.parse(readFileSync(new URL(`${name}.json`, DIR), 'utf8')) as Reference;
  const model = await loadOnnxFile(new URL(`${name}.onnx`, DIR).pathname);
  const tol = ref.dtype === 'float64' ? 1e-5 : 1e-4;
  const g = new Graph({ dtype: ref.dtype });
  const inputs: Record<string, Sym> = Object.create(null);
  for (const [k, v] of Object.entries(ref.inputs)) inputs[k] = g.input(k, v.shape);
  const t = importOnnx(g, model, inputs, { params: 'trainable' });
  const y = t.y!;
  assert.equal(y.shape, ref.output.shape);
  const loss = y.mul(g.constant(new Tensor(ref.dtype, ref.output.shape, (ref.dtype === 'float64' ? Float64Array : Float32Array).from(ref.weights)))).sum();
  const names = Object.keys(ref.grads);
  const params = names.map((n) => {
    const p = t[n];
    assert.ok(p && g.params.has(n), `${name}: parameter ${n} was not imported as a param`);
    return p;
  });
  const grads = grad(loss, params);
  const outs: Record<string, Sym> = Object.create(null);
  outs.y = y;
  outs.loss = loss;
  grads.forEach((d, i) => (outs[`d${i}`] = d!));
  const feeds: Record<string, Tensor> = Object.create(null);
  const arr = ref.dtype === 'float64' ? Float64Array : Float32Array;
  for (const [k, v] of Object.entries(ref.inputs)) feeds[k] = new Tensor(ref.dtype, v.shape, arr.from(v.values));
  for (const init of model.graph.initializers) if (g.params.has(init.name)) feeds[init.name] = new Tensor(init.dtype, init.dims, init.data as Float32Array);
  const session = await KernelSession.create(g.toModel(outs));
  try {
    const r = await session.run(feeds);
    const fwd = relErr(r.y!.toArray(), ref.output.values);
    assert.ok(fwd < tol, `${name}: forward rel error ${fwd}`);
    const lossErr = Math.abs(r.loss!.item() - ref.loss) / Math.max(1, Math.abs(ref.loss));
    assert.ok(lossErr < tol, `${name}: loss ${r.loss!.item()} vs torch ${ref.loss}`);
    names.forEach((n, i) => {
      const e = relErr(r[`d${i}`]!.toArray(), ref.grads[n]!.values);
      assert.ok(e < tol, `${name}: d loss/d ${n} rel error ${e}`);
    });
  } finally {
    await session.release();
  }
}

for (const name of ['dit_block_op13', 'dit_block_op17', 'dit_block_op13_f64', 'dit_block_op17_f64', 'mha_op13', 'mha_op17', 'einsum_attention_op13', 'einsum_attention_op17', 'groupnorm_resize_op13', 'groupnorm_resize_op17']) {
  test(`${name}: forward, loss and parameter gradients match PyTorch`, () => checkAgainstTorch(name));
}

test('a dynamic-axis export imports at another batch and token count (computed reshape targets refold)', async () => {
  const model = await loadOnnxFile(new URL('dit_block_op17.onnx', DIR).pathname);
  const g = new Graph();
  const t = importOnnx(g, model, { x: g.input('x', [3, 7, 16]), t: g.input('t', [3]) });
  assert.equal(t.y!.shape, [3, 7, 16]);
});

test.run();
