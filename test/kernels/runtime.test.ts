// Tensor conversions, session cache, provider fallback (for real: cuda/webgpu fail on CPU-only machines).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import ort from 'onnxruntime-node';
import { rejects } from './util.ts';
import { Graph, KernelSession, SessionCache, Tensor } from '../../kernels/index.ts';

function negModel() {
  const g = new Graph();
  const x = g.input('x', [3]);
  return g.toModel({ y: x.neg() });
}

test('Tensor.from infers shape; toOrt/fromOrt share memory', () => {
  const t = Tensor.from([[1, 2, 3], [4, 5, 6]]);
  assert.equal(t.shape, [2, 3]);
  assert.is(t.dtype, 'float32');
  const o = t.toOrt();
  assert.ok(o.data === t.data, 'toOrt must not copy');
  const back = Tensor.fromOrt(o);
  assert.ok(back.data === t.data, 'fromOrt must not copy');
  assert.throws(() => Tensor.from([[1, 2], [3]]), /ragged/);
  assert.throws(() => new Tensor('float32', [2, 2], new Float32Array(3)), /needs 4/);
  assert.is(Tensor.scalar(5n, 'int64').item(), 5);
});

test('session runs, and outputs can be fed back as inputs', async () => {
  const s = await KernelSession.create(negModel());
  const a = await s.runOrt({ x: Tensor.from([1, 2, 3]) }, ['y']);
  assert.ok(a.y instanceof ort.Tensor);
  const b = await s.run({ x: a.y! }, ['y']);
  assert.equal(b.y!.toArray(), [1, 2, 3]);
});

test('missing, unknown and mis-shaped feeds give errors naming the tensor', async () => {
  const s = await KernelSession.create(negModel());
  await rejects(() => s.run({}), /missing feed 'x'/);
  await rejects(() => s.run({ x: Tensor.from([1, 2, 3]), z: Tensor.from([1]) }), /unknown feed 'z'/);
  await rejects(() => s.run({ x: Tensor.from([1, 2, 3]) }, ['nope']), /unknown output 'nope'/);
  await rejects(() => s.run({ x: Tensor.from([1, 2]) }), /x/);
});

for (const provider of ['cuda', 'webgpu'] as const) {
  test(`provider '${provider}' falls back to cpu with one log line`, async () => {
    const lines: string[] = [];
    const s = await KernelSession.create(negModel(), { provider, log: (l) => lines.push(l) });
    if (s.provider === provider) {
      assert.is(lines.length, 0); // a machine where the provider really exists
    } else {
      assert.is(s.provider, 'cpu');
      assert.is(lines.length, 1);
      assert.match(lines[0]!, new RegExp(`'${provider}' unavailable .*running on cpu`));
    }
    const out = await s.run({ x: Tensor.from([1, -2, 3]) });
    assert.equal(out.y!.toArray(), [-1, 2, -3]);
  });
}

test('session cache returns the same session for the same model bytes and options', async () => {
  const cache = new SessionCache();
  const a = await cache.get(negModel());
  const b = await cache.get(negModel());
  const c = await cache.get(negModel(), { threads: 1 });
  assert.ok(a === b);
  assert.ok(a !== c);
  assert.is(cache.size, 2);
  await cache.clear();
  assert.is(cache.size, 0);
});



test('compile(): a Kernel checks feed shapes/dtypes against the trace and names the tensor', async () => {
  const { compile } = await import('../../kernels/index.ts');
  const g = new Graph();
  const x = g.input('x', [2, 2]);
  const k = await compile(g, { y: x.softmax() });
  const { y } = await k.run({ x: Tensor.from([[0, 0], [1, 1]]) });
  assert.equal(y!.toArray(), [0.5, 0.5, 0.5, 0.5]);
  await rejects(() => k.run({ x: Tensor.from([1, 2, 3, 4]) }), /feed 'x' has shape \[4\], expected \[2, 2\]/);
  await rejects(() => k.run({ x: Tensor.from([[1, 2], [3, 4]], undefined, 'float64') }), /feed 'x' is float64, expected float32/);
  await rejects(() => k.run({}), /missing feed 'x' \(float32\[2, 2\]\)/);
});

test('KernelWorker: runs sessions off-thread with the same provider fallback', async () => {
  const { KernelWorker } = await import('../../kernels/index.ts');
  const w = KernelWorker.start();
  try {
    const lines: string[] = [];
    const s = await w.createSession(negModel(), { provider: 'cuda', log: (l) => lines.push(l) });
    if (s.provider === 'cpu') assert.is(lines.length, 1);
    const out = await s.run({ x: Tensor.from([1, 2, 3]) });
    assert.equal(out.y!.toArray(), [-1, -2, -3]);
    await rejects(() => s.run({}), /missing feed 'x'/);
    await s.release();
  } finally {
    await w.terminate();
  }
});

test('compileBatched: one traced graph per batch size, cached', async () => {
  const { compileBatched } = await import('../../kernels/index.ts');
  const k = compileBatched((g, batch) => {
    const x = g.input('x', [batch, 3]);
    return { y: x.softmax(), s: x.sum(1) };
  });
  const a = await k.run({ x: Tensor.from([[1, 2, 3]]) });
  const b = await k.run({ x: Tensor.from([[0, 0, 0], [1, 1, 1]]) });
  await k.run({ x: Tensor.from([[5, 5, 5]]) });
  assert.equal(a.y!.shape, [1, 3]);
  assert.equal(b.s!.toArray(), [0, 3]);
  assert.equal(k.sizes.sort(), [1, 2]);
  await rejects(() => k.run({ x: Tensor.from([[1, 2]]) }), /feed 'x' has shape \[1, 2\], expected \[1, 3\]/);
});

test.run();
