// Ops the PyTorch-export importer needs, each checked against central finite differences in
// float64 (gradCheck) and, where the forward is not a single ONNX node, against hand values.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph, KernelSession, Tensor, einsum, gradCheck, groupNorm, instanceNorm, ops as o, resize } from '../../kernels/index.ts';

const ok = (r: { ok: boolean; summary: string }) => assert.ok(r.ok, r.summary);

test('sin and cos', async () => {
  ok(await gradCheck((_g, x) => o.sin(x.a!), { a: { shape: [2, 3] } }));
  ok(await gradCheck((_g, x) => o.cos(x.a!), { a: { shape: [2, 3] } }));
});

test('slice with steps and negative indices, and reversed (negative-step) slices', async () => {
  ok(await gradCheck((_g, x) => o.slice(x.a!, [-3, 0], [100, 5], [0, 1], [1, 2]), { a: { shape: [4, 5] } }));
  ok(await gradCheck((_g, x) => o.slice(x.a!, [-1, 3], [-100, 0], [0, 1], [-1, -2]), { a: { shape: [4, 5] } }));
  ok(await gradCheck((_g, x) => o.slice(x.a!, [0, -1], [4, -6], [0, 1], [2, -1]), { a: { shape: [4, 5] } }));
});

test('split, cast float64→float32→float64, expand and where', async () => {
  ok(await gradCheck((_g, x) => { const [p, q] = o.split(x.a!, [1, 2], 1); return o.mul(p!, o.sum(q!, [1], true)); }, { a: { shape: [2, 3] } }));
  ok(await gradCheck((_g, x) => o.cast(o.cast(x.a!, 'float32'), 'float64').mul(x.a!), { a: { shape: [3] } }, { eps: 1e-2, tol: 1e-4 }));
  ok(await gradCheck((_g, x) => o.expand(x.a!, [2, 3, 4]), { a: { shape: [3, 1] } }));
  ok(await gradCheck((g, x) => o.where(o.greater(x.c!, 0), x.a!, x.b!), { a: { shape: [2, 3] }, b: { shape: [3] }, c: { shape: [2, 3] } }));
});

test('instance and group normalisation', async () => {
  ok(await gradCheck((_g, x) => instanceNorm(x.a!, x.s!, x.b!), { a: { shape: [2, 2, 3] }, s: { shape: [2] }, b: { shape: [2] } }));
  ok(await gradCheck((_g, x) => groupNorm(x.a!, 2, x.s!, x.b!), { a: { shape: [1, 4, 3] }, s: { shape: [4] }, b: { shape: [4] } }));
});

test('resize: nearest and linear values match ONNX semantics, gradients match finite differences', async () => {
  const g = new Graph({ dtype: 'float64' });
  const x = g.input('x', [1, 1, 3]);
  const near = resize(x, [1, 1, 6], [1, 1, 2], { mode: 'nearest', coordinateMode: 'asymmetric', nearestMode: 'floor' });
  const lin = resize(x, [1, 1, 6], [1, 1, 2], { mode: 'linear', coordinateMode: 'half_pixel' });
  const r = await (await KernelSession.create(g.toModel({ near, lin }))).run({ x: new Tensor('float64', [1, 1, 3], Float64Array.from([0, 1, 4])) });
  assert.equal(r.near!.toArray(), [0, 0, 1, 1, 4, 4]);
  // half_pixel sources: −0.25→0 (clamped), 0.25, 0.75, 1.25, 1.75, 2.25→2.
  assert.equal(r.lin!.toArray(), [0, 0.25, 0.75, 1.75, 3.25, 4]);
  ok(await gradCheck((_g, v) => resize(v.a!, [1, 2, 4, 6], undefined, { mode: 'linear', coordinateMode: 'pytorch_half_pixel' }), { a: { shape: [1, 2, 2, 3] } }));
  ok(await gradCheck((_g, v) => resize(v.a!, [1, 1, 4, 5], undefined, { mode: 'linear', coordinateMode: 'align_corners' }), { a: { shape: [1, 1, 2, 3] } }));
  ok(await gradCheck((_g, v) => resize(v.a!, [1, 1, 4, 6], [1, 1, 2, 2], { mode: 'nearest', coordinateMode: 'asymmetric', nearestMode: 'floor' }), { a: { shape: [1, 1, 2, 3] } }));
});

test('einsum: attention patterns, transposes and reductions against matmul', async () => {
  ok(await gradCheck((_g, x) => einsum('bhid,bhjd->bhij', x.q!, x.k!), { q: { shape: [1, 2, 3, 2] }, k: { shape: [1, 2, 4, 2] } }));
  ok(await gradCheck((_g, x) => einsum('nchw,nc->nhw', x.a!, x.b!), { a: { shape: [2, 3, 2, 2] }, b: { shape: [2, 3] } }));
  ok(await gradCheck((_g, x) => einsum('ij->ji', x.a!), { a: { shape: [2, 3] } }));
  ok(await gradCheck((_g, x) => einsum('ij,jk', x.a!, x.b!), { a: { shape: [2, 3] }, b: { shape: [3, 2] } }));
  const g = new Graph({ dtype: 'float64' });
  const a = g.input('a', [2, 3]);
  const b = g.input('b', [3, 4]);
  const r = await (await KernelSession.create(g.toModel({ e: einsum('ik,kj->ij', a, b), m: o.matmul(a, b) }))).run({
    a: new Tensor('float64', [2, 3], Float64Array.from([1, 2, 3, 4, 5, 6])),
    b: new Tensor('float64', [3, 4], Float64Array.from({ length: 12 }, (_, i) => i - 5)),
  });
  assert.equal(r.e!.toArray(), r.m!.toArray());
});

test.run();
