/**
 * Checks an imported PyTorch export against what PyTorch autograd computed at export time
 * (test/fixtures/onnx/<name>.json, written by bench/importer/export_fixtures.py). Not a test file.
 */
import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { Graph, KernelSession, Tensor, grad, importOnnxModel, loadOnnxFile, type ImportedParam, type OnnxModel, type Sym } from '../../kernels/index.ts';

export const FIXTURES = new URL('../fixtures/onnx/', import.meta.url);

export interface Values {
  shape: number[];
  values: number[];
}
export interface Reference {
  opset: number;
  dtype: 'float32' | 'float64';
  inputs: Record<string, Values>;
  output: Values;
  weights: number[];
  loss: number;
  grads: Record<string, Values>;
}

export const readReference = (name: string) => JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8')) as Reference;

/** max |a − b| / max |b|: relative to the tensor's scale, so near-zero elements do not dominate. */
export function relErr(a: ArrayLike<number>, b: readonly number[]): number {
  assert.is(a.length, b.length);
  let num = 0;
  let den = 1e-30;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

/** A 2-D row-major array transposed. */
function transpose2(a: ArrayLike<number>, rows: number, cols: number): number[] {
  const out = new Array<number>(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  return out;
}

/** The imported param holding PyTorch parameter `torchName`: by the name map (folded, renamed weights) or by name. */
function paramFor(names: Map<string, ImportedParam[]>, torchName: string): ImportedParam | undefined {
  for (const list of names.values()) for (const p of list) if (p.torchName === torchName) return p;
  return undefined;
}

/**
 * Imports `onnx` (a fixture name or a decoded model), and checks forward output, loss and every
 * PyTorch parameter gradient of reference `ref` within `tol` (default 1e-4 float32, 1e-5 float64).
 */
export async function checkAgainstTorch(onnx: string | OnnxModel, refName: string, tol?: number): Promise<void> {
  const ref = readReference(refName);
  const model = typeof onnx === 'string' ? await loadOnnxFile(new URL(`${onnx}.onnx`, FIXTURES).pathname) : onnx;
  tol ??= ref.dtype === 'float64' ? 1e-5 : 1e-4;
  const g = new Graph({ dtype: ref.dtype });
  const inputs: Record<string, Sym> = Object.create(null);
  for (const [k, v] of Object.entries(ref.inputs)) inputs[k] = g.input(k, v.shape);
  const { tensors: t, names } = importOnnxModel(g, model, inputs, { params: 'trainable' });
  const y = t.y!;
  assert.equal(y.shape, ref.output.shape);
  const arr = ref.dtype === 'float64' ? Float64Array : Float32Array;
  const loss = y.mul(g.constant(new Tensor(ref.dtype, ref.output.shape, arr.from(ref.weights)))).sum();
  const torchNames = Object.keys(ref.grads);
  const found = torchNames.map((n) => {
    const p = paramFor(names, n);
    assert.ok(p && g.params.has(p.param), `${refName}: PyTorch parameter ${n} has no imported param (name map: ${[...names.keys()].join(', ')})`);
    return p;
  });
  const grads = grad(loss, found.map((p) => t[p.param]!));
  const outs: Record<string, Sym> = Object.create(null);
  outs.y = y;
  outs.loss = loss;
  grads.forEach((d, i) => (outs[`d${i}`] = d!));
  const feeds: Record<string, Tensor> = Object.create(null);
  for (const [k, v] of Object.entries(ref.inputs)) feeds[k] = new Tensor(ref.dtype, v.shape, arr.from(v.values));
  // Params' initial values as the importer made them (float16 widened), read from its inits.
  for (const [name, info] of g.params) if (info.init.kind === 'values') feeds[name] = info.init.tensor;
  const session = await KernelSession.create(g.toModel(outs));
  try {
    const r = await session.run(feeds);
    const fwd = relErr(r.y!.toArray(), ref.output.values);
    assert.ok(fwd < tol, `${refName}: forward rel error ${fwd}`);
    const lossErr = Math.abs(r.loss!.item() - ref.loss) / Math.max(1, Math.abs(ref.loss));
    assert.ok(lossErr < tol, `${refName}: loss ${r.loss!.item()} vs torch ${ref.loss}`);
    torchNames.forEach((n, i) => {
      const p = found[i]!;
      const ours = r[`d${i}`]!;
      const values = p.transposed ? transpose2(ours.toArray(), ours.shape[0]!, ours.shape[1]!) : ours.toArray();
      const e = relErr(values, ref.grads[n]!.values);
      assert.ok(e < tol, `${refName}: d loss/d ${n} (param ${p.param}${p.transposed ? ', transposed' : ''}) rel error ${e}`);
    });
  } finally {
    await session.release();
  }
}
