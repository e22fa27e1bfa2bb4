// Tracing builder: trace-time errors that name the op and the caller's line; pruning; random ops.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph, KernelSession, Tensor, TraceError, grad, ops as o } from '../../kernels/index.ts';
import { throwsWith } from './util.ts';

test('shape mismatch in matmul is a TraceError naming op, tensors and this file', () => {
  const g = new Graph();
  const x = g.input('x', [2, 3]);
  const w = g.param('w', [4, 5]);
  const e = throwsWith(() => x.matmul(w), /^matmul: inner dimensions differ: 'x' float32\[2, 3\] · 'w' float32\[4, 5\]/);
  assert.ok(e instanceof TraceError);
  assert.match(e.message, /trace\.test\.ts:\d+:\d+\)$/);
});

test('broadcast, reshape, axis, dtype and concat errors are caught at trace time', () => {
  const g = new Graph();
  const a = g.input('a', [2, 3]);
  const b = g.input('b', [4]);
  const i = g.input('i', [2], 'int64');
  throwsWith(() => a.add(b), /^add: shapes do not broadcast: 'a' float32\[2, 3\] vs 'b' float32\[4\]/);
  throwsWith(() => a.reshape([4, 2]), /^reshape: cannot reshape 'a'/);
  throwsWith(() => a.softmax(2), /^softmax: axis 2 out of range/);
  throwsWith(() => o.exp(i), /^exp: expects a float tensor/);
  throwsWith(() => a.add(i), /^add: dtype mismatch/);
  throwsWith(() => o.concat([a, b], 0), /^concat: shapes differ/);
  throwsWith(() => o.gather(a, [5], 1), /^gather: index 5 out of range/);
  throwsWith(() => o.layerNorm(a, b, null), /^layerNorm: 'b' float32\[4\] must have shape \[3\]/);
  throwsWith(() => o.conv2d(g.input('img', [1, 3, 8, 8]), g.input('k', [4, 2, 2, 2])), /^conv2d: input channels 3/);
  throwsWith(() => g.input('a', [1]), /already declared/);
  const other = new Graph();
  throwsWith(() => a.add(other.input('z', [2, 3])), /different graphs/);
});

test('grad: non-scalar loss and unknown gradient rule are clear errors', () => {
  const g = new Graph();
  const x = g.param('x', [3]);
  throwsWith(() => grad(x.exp(), [x]), /^grad: loss must be a scalar, got '.*' float32\[3\]/);
  const s = o.sign(x).mul(x).sum();
  const [dx] = grad(s, [x]); // sign is non-differentiable: contributes zero, does not throw
  assert.ok(dx);
  const g2 = new Graph();
  const y = g2.param('y', [3]);
  const z = o.exp(y);
  // Simulate an op registered without a VJP rule.
  Object.assign(z.producer!, { op: 'mystery', location: 'model.ts:1:1' });
  throwsWith(() => grad(z.sum(), [y]), /^mystery: has no gradient rule \(op at model\.ts:1:1\)/);
});

test('toModel drops nodes and initializers the outputs do not need', () => {
  const g = new Graph();
  const x = g.input('x', [4]);
  const used = x.mul(2).add(1);
  x.mul(g.constant(new Tensor('float32', [4], Float32Array.from([9, 9, 9, 9])))).exp(); // dead branch
  const m = g.toModel({ used });
  assert.equal(m.graph.nodes.map((n) => n.opType), ['Mul', 'Add', 'Identity']);
  assert.is(m.graph.initializers.length, 2);
});

test('stopGradient blocks gradient flow; unused params get zeros', async () => {
  const g = new Graph({ dtype: 'float64' });
  const a = g.param('a', [3]);
  const b = g.param('b', [3]);
  const unused = g.param('u', [2]);
  const loss = o.stopGradient(a).mul(b).add(a).sum();
  const [da, db, du] = grad(loss, [a, b, unused]);
  const s = await KernelSession.create(g.toModel({ da: da!, db: db!, du: du! }));
  const out = await s.run({ a: Tensor.from([1, 2, 3], undefined, 'float64'), b: Tensor.from([4, 5, 6], undefined, 'float64'), u: Tensor.zeros([2], 'float64') });
  assert.equal(out.da!.toArray(), [1, 1, 1]);
  assert.equal(out.db!.toArray(), [1, 2, 3]);
  assert.equal(out.du!.toArray(), [0, 0]);
});

test('float32 Gelu, Erf, LayerNorm and Conv agree with their float64 lowerings', async () => {
  const run = async (dtype: 'float32' | 'float64') => {
    const g = new Graph({ dtype });
    const x = g.input('x', [1, 2, 4, 4]);
    const w = g.input('w', [3, 2, 2, 2]);
    const wt = g.input('wt', [2, 1, 3, 3]);
    const c = o.conv2d(x, w, undefined, { stride: 2, pad: 1 });
    const ct = o.convTranspose2d(x, wt, undefined, { stride: 2, pad: 1 });
    const ln = o.layerNorm(x, g.constant(new Tensor(dtype, [4], new (dtype === 'float32' ? Float32Array : Float64Array)([1, 2, 0.5, -1]))), null);
    const s = await KernelSession.create(g.toModel({ gelu: o.gelu(x), erf: o.erf(x.mul(2)), c, ct, ln }));
    const vals = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.sin(i * k) * 2);
    const A = dtype === 'float32' ? Float32Array : Float64Array;
    return s.run({
      x: new Tensor(dtype, [1, 2, 4, 4], A.from(vals(32, 1.3)) as Float32Array),
      w: new Tensor(dtype, [3, 2, 2, 2], A.from(vals(24, 0.7)) as Float32Array),
      wt: new Tensor(dtype, [2, 1, 3, 3], A.from(vals(18, 0.4)) as Float32Array),
    });
  };
  const f = await run('float32');
  const d = await run('float64');
  for (const k of ['gelu', 'erf', 'c', 'ct', 'ln']) {
    assert.equal(f[k]!.shape, d[k]!.shape, k);
    const a = f[k]!.toArray();
    const b = d[k]!.toArray();
    const err = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    assert.ok(err < 2e-5, `${k}: float32 vs float64 differ by ${err}`);
  }
});

test('random normal/uniform: seeded, reproducible, distinct streams, sane statistics', async () => {
  const g = new Graph({ dtype: 'float64' });
  const n1 = o.randomNormal(g, [100, 100]);
  const n2 = o.randomNormal(g, [4]);
  const u = o.randomUniform(g, [10000], -1, 3);
  const s = await KernelSession.create(g.toModel({ n1, n2, u }));
  const seed = (v: number) => ({ seed: Tensor.scalar(v, 'int64') });
  const a = await s.run(seed(1));
  const b = await s.run(seed(1));
  const c = await s.run(seed(2));
  assert.equal(a.n1!.toArray(), b.n1!.toArray());
  assert.not.equal(a.n1!.toArray().slice(0, 4), c.n1!.toArray().slice(0, 4));
  assert.not.equal(a.n1!.toArray().slice(0, 4), a.n2!.toArray());
  const z = a.n1!.toArray();
  const mean = z.reduce((p, q) => p + q, 0) / z.length;
  const sd = Math.sqrt(z.reduce((p, q) => p + (q - mean) ** 2, 0) / z.length);
  let lag = 0;
  for (let i = 1; i < z.length; i++) lag += (z[i]! - mean) * (z[i - 1]! - mean);
  lag /= (z.length - 1) * sd * sd;
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(sd - 1) < 0.03, `sd ${sd}`);
  assert.ok(Math.abs(lag) < 0.03, `lag-1 correlation ${lag}`);
  const uu = a.u!.toArray();
  assert.ok(Math.min(...uu) > -1 && Math.max(...uu) < 3);
  const um = uu.reduce((p, q) => p + q, 0) / uu.length;
  assert.ok(Math.abs(um - 1) < 0.05, `uniform mean ${um}`);
});



test('cast VJP: gradients flow back through float64 → float32 → float64 casts in the source dtype', async () => {
  const g = new Graph({ dtype: 'float64' });
  const x = g.param('x', [3]);
  const w = g.constant(new Tensor('float64', [3], Float64Array.from([0.5, -2, 3])));
  const y = o.cast(o.cast(x, 'float32').mul(2), 'float64');
  const [dx] = grad(y.mul(w).sum(), [x]);
  assert.is(dx!.dtype, 'float64');
  const s = await KernelSession.create(g.toModel({ dx: dx! }));
  const out = await s.run({ x: Tensor.from([1, 2, 3], undefined, 'float64') });
  assert.equal(out.dx!.toArray(), [1, -4, 6]);
  // int casts carry no gradient
  const i = o.cast(x, 'int64');
  const [dz] = grad(o.cast(i, 'float64').sum(), [x]);
  const s2 = await KernelSession.create(g.toModel({ dz: dz! }));
  assert.equal((await s2.run({ x: Tensor.from([1, 2, 3], undefined, 'float64') })).dz!.toArray(), [0, 0, 0]);
});

test.run();
