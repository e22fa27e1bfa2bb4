// The float32 conv gradients run on ORT's own ConvTranspose and (dilated) Conv kernels, the
// float64 ones on the sliced lowering that vjp.test.ts checks against finite differences; on
// strided + padded shapes with a remainder both must give the same dX, dW and db.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph, KernelSession, Tensor, grad, ops as o } from '../../kernels/index.ts';

type Case = { x: number[]; w: number[]; stride: number; pad: number };

const CASES: Record<string, Case> = {
  'k3 s2 p1 on 8×8 (the standard downsample)': { x: [2, 3, 8, 8], w: [4, 3, 3, 3], stride: 2, pad: 1 },
  'k3 s2 p1 on 7×6': { x: [1, 2, 7, 6], w: [2, 2, 3, 3], stride: 2, pad: 1 },
  'k4 s2 p1 on 7×9': { x: [1, 2, 7, 9], w: [3, 2, 4, 4], stride: 2, pad: 1 },
  'k3 s3 p1 on 8×8': { x: [1, 2, 8, 8], w: [2, 2, 3, 3], stride: 3, pad: 1 },
};

const values = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.sin(i * k + 0.3));
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

async function grads(dtype: 'float32' | 'float64', c: Case): Promise<Record<string, number[]>> {
  const g = new Graph({ dtype });
  const x = g.param('x', c.x);
  const w = g.param('w', c.w);
  const b = g.param('b', [c.w[0]!]);
  const y = o.conv2d(x, w, b, { stride: c.stride, pad: c.pad });
  const r = g.constant(Tensor.from(values(y.size, 0.91), y.shape as number[], dtype));
  const [dx, dw, db] = grad(y.mul(r).sum(), [x, w, b]);
  const s = await KernelSession.create(g.toModel({ dx: dx!, dw: dw!, db: db! }));
  const feed = (shape: number[], k: number) => Tensor.from(values(size(shape), k), shape, dtype);
  const out = await s.run({ x: feed(c.x, 1.7), w: feed(c.w, 0.37), b: feed([c.w[0]!], 2.1) });
  await s.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.toArray()]));
}

for (const [name, c] of Object.entries(CASES)) {
  test(`float32 conv2d gradients equal float64 ones: ${name}`, async () => {
    const f = await grads('float32', c);
    const d = await grads('float64', c);
    for (const k of ['dx', 'dw', 'db']) {
      const err = Math.max(...f[k]!.map((v, i) => Math.abs(v - d[k]![i]!)));
      const scale = Math.max(1, ...d[k]!.map(Math.abs));
      assert.ok(err / scale < 1e-5, `${k}: float32 vs float64 differ by ${err} (scale ${scale})`);
    }
  });
}

test.run();
