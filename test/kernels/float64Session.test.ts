// Forward-only float64 sessions that compute x·σ(x): onnxruntime's QuickGeluFusion rewrites them
// into com.microsoft.QuickGelu, which has no double kernel, so they failed to load (issue 13).
// Float32 sessions must keep every optimisation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph, KernelSession, KernelWorker, SessionCache, Tensor, compile, encodeModel, ops as o, type Sym } from '../../kernels/index.ts';
import { ortOptions } from '../../kernels/runtime/KernelSession.ts';
import { FLOAT64_UNSAFE_OPTIMIZERS, computesInFloat64, sessionModel } from '../../kernels/runtime/sessionModel.ts';

const XS = [-6, -1.5, -0.25, 0, 0.3, 1, 2.5, 7];
const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** Each graph computes SiLU-like values in a form the optimiser fuses. */
const FORMS: [string, (x: Sym) => Sym, (v: number) => number][] = [
  ['ops.silu', (x) => o.silu(x), (v) => v * sig(v)],
  ['x.sigmoid()·x', (x) => o.mul(o.sigmoid(x), x), (v) => v * sig(v)],
  ['x·σ(1.702x)', (x) => x.mul(x.mul(1.702).sigmoid()), (v) => v * sig(1.702 * v)],
];

function build(dtype: 'float32' | 'float64', form: (x: Sym) => Sym) {
  const g = new Graph({ dtype });
  const x = g.input('x', [XS.length]);
  return { g, y: form(x) };
}

const feed = (dtype: 'float32' | 'float64') => ({ x: Tensor.from(XS, undefined, dtype) });

function close(got: number[], want: number[], tol: number, what: string): void {
  const err = Math.max(...got.map((v, i) => Math.abs(v - want[i]!)));
  assert.ok(err < tol, `${what}: max error ${err}`);
}

for (const [name, form, ref] of FORMS) {
  test(`float64 forward-only ${name} loads and runs (model, bytes, cached compile)`, async () => {
    const { g, y } = build('float64', form);
    const model = g.toModel({ y });
    const want = XS.map(ref);
    const fromModel = await KernelSession.create(model);
    close((await fromModel.run(feed('float64'))).y!.toArray(), want, 1e-15, `${name} (model)`);
    const fromBytes = await KernelSession.create(encodeModel(model));
    close((await fromBytes.run(feed('float64'))).y!.toArray(), want, 1e-15, `${name} (bytes)`);
    const cache = new SessionCache();
    const k = await compile(g, { y }, { cache });
    close((await k.run(feed('float64'))).y!.toArray(), want, 1e-15, `${name} (compile)`);
    await Promise.all([fromModel.release(), fromBytes.release(), cache.clear()]);
  });
}

test('float64 forward-only conv2d → silu runs in a worker-thread session too', async () => {
  const g = new Graph({ dtype: 'float64' });
  const x = g.input('x', [1, 1, 4, 4]);
  const w = g.constant(Tensor.from([1, -2, 0.5, 3], [1, 1, 2, 2], 'float64'));
  const y = o.silu(o.conv2d(x, w, undefined, { stride: 2, pad: 1 }));
  const worker = KernelWorker.start();
  try {
    const k = await compile(g, { y }, { worker });
    const img = Tensor.from(Array.from({ length: 16 }, (_, i) => Math.sin(i)), [1, 1, 4, 4], 'float64');
    const out = (await k.run({ x: img })).y!;
    assert.equal(out.shape, [1, 1, 3, 3]);
    // Top-left output sees only the input's (0, 0) pixel through the kernel's bottom-right tap.
    const c00 = 3 * Math.sin(0);
    close([out.toArray()[0]!], [c00 * sig(c00)], 1e-15, 'conv→silu corner');
  } finally {
    await worker.terminate();
  }
});

test('only float64 models lose QuickGeluFusion; float32 keeps full optimisation', () => {
  for (const [name, form] of FORMS) {
    const f64 = build('float64', form);
    const f32 = build('float32', form);
    const m64 = f64.g.toModel({ y: f64.y });
    const m32 = f32.g.toModel({ y: f32.y });
    assert.ok(computesInFloat64(m64), name);
    assert.not.ok(computesInFloat64(m32), name);
    assert.equal(sessionModel(m64).disabledOptimizers, FLOAT64_UNSAFE_OPTIMIZERS);
    assert.equal(sessionModel(encodeModel(m64)).disabledOptimizers, FLOAT64_UNSAFE_OPTIMIZERS, `${name} from bytes`);
    assert.equal(sessionModel(m32).disabledOptimizers, []);
    assert.equal(sessionModel(encodeModel(m32)).disabledOptimizers, [], `${name} from bytes`);
  }
  // A float32 program that casts to double internally is a float64 model too.
  const g = new Graph();
  const x = g.input('x', [2]);
  assert.ok(computesInFloat64(g.toModel({ y: o.cast(o.silu(o.cast(x, 'float64')), 'float32') })));
  const o32 = ortOptions('cpu', {});
  assert.is(o32.graphOptimizationLevel, 'all');
  assert.is((o32.extra as Record<string, unknown>).optimization, undefined);
  const o64 = ortOptions('cpu', {}, FLOAT64_UNSAFE_OPTIMIZERS);
  assert.is(o64.graphOptimizationLevel, 'all');
  assert.equal((o64.extra as Record<string, unknown>).optimization, { disable_specified_optimizers: 'QuickGeluFusion' });
  // Bytes the decoder cannot read keep the default options (onnxruntime reports its own error).
  assert.equal(sessionModel(new Uint8Array([0xff, 0xff, 0xff])).disabledOptimizers, []);
});

test('float32 silu still runs (fused) and matches float64', async () => {
  const { g, y } = build('float32', (x) => o.silu(x));
  const s = await KernelSession.create(g.toModel({ y }));
  close((await s.run(feed('float32'))).y!.toArray(), XS.map((v) => v * sig(v)), 1e-6, 'float32 silu');
  await s.release();
});

test.run();
