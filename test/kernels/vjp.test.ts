// Every op's VJP rule against central finite differences in float64 (real ORT sessions).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gradCheck, ops as o, type GradCheckInput, type Sym, type Graph } from '../../kernels/index.ts';

const TOL = 1e-6;
const pos = (v: number) => Math.abs(v) + 0.5;

function check(name: string, fn: (g: Graph, x: Record<string, Sym>) => Sym, inputs: Record<string, GradCheckInput>): void {
  test(`vjp ${name}`, async () => {
    const r = await gradCheck(fn, inputs, { tol: TOL });
    assert.ok(r.checked > 0);
    assert.ok(r.ok, `${name}: ${r.summary}`);
  });
}

check('add (broadcast)', (_, { a, b }) => o.add(a!, b!), { a: { shape: [2, 3] }, b: { shape: [3] } });
check('sub (broadcast)', (_, { a, b }) => o.sub(a!, b!), { a: { shape: [2, 1] }, b: { shape: [2, 3] } });
check('mul (broadcast)', (_, { a, b }) => o.mul(a!, b!), { a: { shape: [2, 3] }, b: { shape: [2, 1] } });
check('div', (_, { a, b }) => o.div(a!, b!), { a: { shape: [2, 3] }, b: { shape: [3], map: pos } });
check('pow', (_, { a, b }) => o.pow(a!, b!), { a: { shape: [4], map: pos }, b: { shape: [4] } });
check('pow constant exponent', (_, { a }) => o.pow(a!, 3), { a: { shape: [4] } });
check('maximum/minimum', (_, { a, b }) => o.add(o.maximum(a!, b!), o.minimum(a!, b!).mul(2)), { a: { shape: [5] }, b: { shape: [5] } });
check('square', (_, { a }) => o.square(a!), { a: { shape: [4] } });
check('neg', (_, { a }) => o.neg(a!), { a: { shape: [3] } });
check('abs', (_, { a }) => o.abs(a!), { a: { shape: [4], values: [-1.5, -0.2, 0.3, 2] } });
check('exp', (_, { a }) => o.exp(a!), { a: { shape: [4] } });
check('log', (_, { a }) => o.log(a!), { a: { shape: [4], map: pos } });
check('sqrt', (_, { a }) => o.sqrt(a!), { a: { shape: [4], map: pos } });
check('rsqrt', (_, { a }) => o.rsqrt(a!), { a: { shape: [4], map: pos } });
check('reciprocal', (_, { a }) => o.reciprocal(a!), { a: { shape: [4], map: pos } });
check('tanh', (_, { a }) => o.tanh(a!), { a: { shape: [4] } });
check('sigmoid', (_, { a }) => o.sigmoid(a!), { a: { shape: [4] } });
check('relu', (_, { a }) => o.relu(a!), { a: { shape: [4], values: [-1, -0.1, 0.2, 3] } });
check('erf', (_, { a }) => o.erf(a!), { a: { shape: [7], values: [-3.5, -1.2, -0.1, 0.4, 2.4, 2.6, 4] } });
check('gelu', (_, { a }) => o.gelu(a!), { a: { shape: [7], values: [-4, -1, -0.2, 0.3, 1.5, 2.7, 5] } });
check('silu', (_, { a }) => o.silu(a!), { a: { shape: [5] } });
check('softplus/logSigmoid', (_, { a }) => o.logSigmoid(a!), { a: { shape: [6], values: [-30, -2, -0.3, 0.4, 3, 30] } });
check('clip', (_, { a }) => o.clip(a!, -0.5, 0.7), { a: { shape: [5], values: [-1, -0.3, 0.1, 0.5, 2] } });
check('where', (g, { a, b }) => o.where(o.greater(a!, 0), a!.mul(b!), b!), { a: { shape: [2, 3] }, b: { shape: [3] } });
check('matmul (batched, broadcast)', (_, { a, b }) => o.matmul(a!, b!), { a: { shape: [2, 2, 3] }, b: { shape: [3, 4] } });
check('gemm', (_, { a, b, c }) => o.gemm(a!, b!, c!, { alpha: 0.7, beta: 1.3 }), { a: { shape: [2, 3] }, b: { shape: [3, 4] }, c: { shape: [4] } });
check('gemm transA transB', (_, { a, b }) => o.gemm(a!, b!, undefined, { transA: true, transB: true, alpha: 2 }), { a: { shape: [3, 2] }, b: { shape: [4, 3] } });
check('gemm transA', (_, { a, b }) => o.gemm(a!, b!, undefined, { transA: true }), { a: { shape: [3, 2] }, b: { shape: [3, 4] } });
check('gemm transB', (_, { a, b }) => o.gemm(a!, b!, undefined, { transB: true }), { a: { shape: [2, 3] }, b: { shape: [4, 3] } });
check('linear (3-D input)', (_, { x, w, b }) => o.linear(x!, w!, b!), { x: { shape: [2, 2, 3] }, w: { shape: [3, 2] }, b: { shape: [2] } });
check('sum axes', (_, { a }) => o.sum(a!, [0, 2]), { a: { shape: [2, 3, 2] } });
check('sum keepdims', (_, { a }) => o.sum(a!, 1, true), { a: { shape: [2, 3] } });
check('mean', (_, { a }) => o.mean(a!, -1), { a: { shape: [2, 3] } });
check('mean all', (_, { a }) => o.mean(a!), { a: { shape: [2, 3] } });
check('max', (_, { a }) => o.max(a!, 1), { a: { shape: [2, 3] } });
check('softmax', (_, { a }) => o.softmax(a!, 1), { a: { shape: [2, 3, 2] } });
check('softmax feeding matmul (attention row-sum path)', (_, { s, v }) => o.matmul(o.softmax(s!), v!), { s: { shape: [2, 3, 3] }, v: { shape: [2, 3, 2] } });
check('logSoftmax', (_, { a }) => o.logSoftmax(a!), { a: { shape: [2, 4] } });
check('reshape', (_, { a }) => o.reshape(a!, [3, -1]).mul(o.reshape(a!, [3, 2])), { a: { shape: [2, 3] } });
check('transpose', (_, { a }) => o.transpose(a!, [2, 0, 1]), { a: { shape: [2, 3, 2] } });
check('concat', (_, { a, b }) => o.concat([a!, b!, a!], 1), { a: { shape: [2, 1] }, b: { shape: [2, 3] } });
check('split', (_, { a }) => {
  const [p, q] = o.split(a!, [1, 2], 1);
  return o.mul(p!, o.sum(q!, 1, true));
}, { a: { shape: [2, 3] } });
check('split with unused piece', (_, { a }) => o.split(a!, [2, 2], 0)[1]!, { a: { shape: [4, 2] } });
check('slice', (_, { a }) => o.slice(a!, [1, 0], [3, 2], [0, 1]), { a: { shape: [4, 3] } });
check('slice strided', (_, { a }) => o.slice(a!, [1, 0], [6, 5], [0, 1], [2, 3]), { a: { shape: [6, 5] } });
check('gather', (_, { a }) => o.gather(a!, [2, 0, 2], 1), { a: { shape: [2, 3, 2] } });
check('expand', (_, { a }) => o.expand(a!, [2, 3, 4]), { a: { shape: [3, 1] } });
check('pad', (_, { a }) => o.pad(a!, [1, 0, 0, 2], 0.5), { a: { shape: [2, 2] } });
check('layerNorm', (_, { x, g, b }) => o.layerNorm(x!, g!, b!), { x: { shape: [2, 2, 4] }, g: { shape: [4] }, b: { shape: [4] } });
check('layerNorm over two axes, no beta', (_, { x, g }) => o.layerNorm(x!, g!, null, 1e-5, 1), { x: { shape: [2, 2, 3] }, g: { shape: [2, 3] } });
check('conv2d stride 1 pad 1', (_, { x, w, b }) => o.conv2d(x!, w!, b!, { stride: 1, pad: 1 }), { x: { shape: [1, 2, 3, 3] }, w: { shape: [2, 2, 2, 2] }, b: { shape: [2] } });
check('conv2d stride 2 (patch embed, uneven)', (_, { x, w }) => o.conv2d(x!, w!, undefined, { stride: 2 }), { x: { shape: [2, 1, 5, 4] }, w: { shape: [3, 1, 2, 2] } });
// Strided + padded shapes whose (H + 2p − k) is not divisible by the stride: the forward never
// touches the last rows/cols of the padded input, and the input gradient must still land on the
// right pixels (issue 13: the standard Conv2d(C, C, 3, stride 2, pad 1) downsample on an even size).
// Shapes without a remainder stay in the list as controls.
const CONV_REMAINDER: [string, number[], number[], number, number][] = [
  ['k3 s2 p1 even 8×8', [2, 2, 8, 8], [2, 2, 3, 3], 2, 1],
  ['k3 s2 p1 odd 7×7', [1, 2, 7, 7], [3, 2, 3, 3], 2, 1],
  ['k4 s2 p1 even 8×6', [1, 2, 8, 6], [2, 2, 4, 4], 2, 1],
  ['k4 s2 p1 odd 7×5', [1, 1, 7, 5], [2, 1, 4, 4], 2, 1],
  ['k3 s3 p1 6×7', [1, 2, 6, 7], [2, 2, 3, 3], 3, 1],
  ['k3 s2 p2 even 6×6', [1, 1, 6, 6], [2, 1, 3, 3], 2, 2],
];
for (const [label, xs, ws, stride, pad] of CONV_REMAINDER) {
  const rem = (d: number, k: number) => (d + 2 * pad - k) % stride;
  check(`conv2d ${label} with bias (remainder ${rem(xs[2]!, ws[2]!)}×${rem(xs[3]!, ws[3]!)})`, (_, { x, w, b }) => o.conv2d(x!, w!, b!, { stride, pad }), {
    x: { shape: xs },
    w: { shape: ws },
    b: { shape: [ws[0]!] },
  });
}
check('conv2d k3 s2 p1 stacked twice (downsample chain)', (_, { x, w1, w2 }) => o.conv2d(o.conv2d(x!, w1!, undefined, { stride: 2, pad: 1 }).silu(), w2!, undefined, { stride: 2, pad: 1 }), {
  x: { shape: [1, 2, 8, 8] },
  w1: { shape: [2, 2, 3, 3] },
  w2: { shape: [2, 2, 3, 3] },
});
check('convTranspose2d stride 2 pad 1', (_, { x, w, b }) => o.convTranspose2d(x!, w!, b!, { stride: 2, pad: 1 }), {
  x: { shape: [1, 2, 2, 2] },
  w: { shape: [2, 1, 3, 3] },
  b: { shape: [1] },
});
check('rsqrt·exp composite chain', (_, { a }) => o.rsqrt(o.add(o.exp(a!), 1)).sum(), { a: { shape: [3] } });

test.run();
