// Optimizers and one-graph training steps against JS references; NaN guard; frozen params;
// checkpoints; worker-thread steps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor, Trainer, adamw, decodeSafetensors, init, ops as o, schedules, sgd, type Graph, type OptimizerSpec } from '../../kernels/index.ts';
import { rejects } from './util.ts';

// Linear regression y ≈ x·W + b, MSE; gradients have a closed form for the JS reference.
const X = [
  [1, 2],
  [-1, 0.5],
  [0.3, -2],
];
const Y = [[1], [-2], [0.5]];
const W0 = [[0.1], [-0.3]];
const B0 = [0.2];

function linearModel(g: Graph) {
  const x = g.input('x', [3, 2]);
  const y = g.input('y', [3, 1]);
  const W = g.param('W', [2, 1], { init: init.values(Tensor.from(W0, undefined, 'float64')) });
  const b = g.param('b', [1], { init: init.values(Tensor.from(B0, undefined, 'float64')), decay: false });
  const pred = x.matmul(W).add(b);
  return { loss: pred.sub(y).square().mean(), outputs: { pred } };
}

function jsGrad(p: number[]): { loss: number; g: number[] } {
  // p = [W0, W1, b]
  let loss = 0;
  const g = [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    const r = X[i]![0]! * p[0]! + X[i]![1]! * p[1]! + p[2]! - Y[i]![0]!;
    loss += (r * r) / 3;
    g[0]! += ((2 * r) / 3) * X[i]![0]!;
    g[1]! += ((2 * r) / 3) * X[i]![1]!;
    g[2]! += (2 * r) / 3;
  }
  return { loss, g };
}

const feeds64 = () => ({ x: Tensor.from(X, undefined, 'float64'), y: Tensor.from(Y, undefined, 'float64') });

async function paramsAfter(opt: OptimizerSpec, steps: number, clip?: number) {
  const t = await Trainer.create(linearModel, { dtype: 'float64', optimizer: opt, clipGradNorm: clip });
  const losses: number[] = [];
  const norms: number[] = [];
  for (let i = 0; i < steps; i++) {
    const r = await t.step(feeds64());
    losses.push(r.loss);
    norms.push(r.gradNorm);
  }
  const p = t.getParams();
  return { p: [...p.W!.toArray(), ...p.b!.toArray()], losses, norms, trainer: t };
}

test('AdamW step equals a JS AdamW (PyTorch semantics, decoupled decay, bias correction, no decay on b)', async () => {
  const spec = adamw({ lr: 0.05, weightDecay: 0.1, beta1: 0.8, beta2: 0.95, eps: 1e-6 });
  const { p, losses } = await paramsAfter(spec, 4);
  const q = [W0[0]![0]!, W0[1]![0]!, B0[0]!];
  const m = [0, 0, 0];
  const v = [0, 0, 0];
  const ref: number[] = [];
  for (let t = 1; t <= 4; t++) {
    const { loss, g } = jsGrad(q);
    ref.push(loss);
    for (let i = 0; i < 3; i++) {
      if (i < 2) q[i] = q[i]! * (1 - spec.weightDecay * 0.05);
      m[i] = 0.8 * m[i]! + 0.2 * g[i]!;
      v[i] = 0.95 * v[i]! + 0.05 * g[i]! * g[i]!;
      const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - 0.95 ** t) + 1e-6;
      q[i] = q[i]! - (0.05 / (1 - 0.8 ** t)) * (m[i]! / denom);
    }
  }
  losses.forEach((l, i) => assert.ok(Math.abs(l - ref[i]!) < 1e-12, `loss ${i}: ${l} vs ${ref[i]}`));
  p.forEach((x, i) => assert.ok(Math.abs(x - q[i]!) < 1e-12, `param ${i}: ${x} vs ${q[i]}`));
});

test('weight-decay exclusions do not depend on declaration order (flat layout puts decayed params first)', async () => {
  const reversed = (g: Graph) => {
    const x = g.input('x', [3, 2]);
    const y = g.input('y', [3, 1]);
    const b = g.param('b', [1], { init: init.values(Tensor.from(B0, undefined, 'float64')), decay: false });
    const W = g.param('W', [2, 1], { init: init.values(Tensor.from(W0, undefined, 'float64')) });
    return { loss: x.matmul(W).add(b).sub(y).square().mean() };
  };
  const opts = { dtype: 'float64' as const, optimizer: adamw({ lr: 0.05, weightDecay: 0.5 }) };
  const a = await Trainer.create(linearModel, opts);
  const r = await Trainer.create(reversed, opts);
  assert.equal(r.layout.trainable.map((s) => s.name), ['W', 'b']);
  for (let i = 0; i < 3; i++) {
    await a.step(feeds64());
    await r.step(feeds64());
  }
  assert.equal(r.getParams().W!.toArray(), a.getParams().W!.toArray());
  assert.equal(r.getParams().b!.toArray(), a.getParams().b!.toArray());
});

test('SGD with Nesterov momentum and L2 equals a JS reference', async () => {
  const { p } = await paramsAfter(sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }), 3);
  const q = [W0[0]![0]!, W0[1]![0]!, B0[0]!];
  const buf = [0, 0, 0];
  for (let t = 0; t < 3; t++) {
    const { g } = jsGrad(q);
    for (let i = 0; i < 3; i++) {
      const gi = g[i]! + (i < 2 ? 0.01 * q[i]! : 0);
      buf[i] = 0.9 * buf[i]! + gi;
      q[i] = q[i]! - 0.1 * (gi + 0.9 * buf[i]!);
    }
  }
  p.forEach((x, i) => assert.ok(Math.abs(x - q[i]!) < 1e-12, `param ${i}: ${x} vs ${q[i]}`));
});

test('global grad-norm clipping and the learning-rate schedule input', async () => {
  const lrs = schedules.linearWarmup({ peak: 0.2, warmupSteps: 4 });
  const { p, norms } = await paramsAfter(sgd({ lr: lrs }), 2, 0.5);
  const q = [W0[0]![0]!, W0[1]![0]!, B0[0]!];
  for (let t = 0; t < 2; t++) {
    const { g } = jsGrad(q);
    const n = Math.hypot(...g);
    assert.ok(Math.abs(norms[t]! - n) < 1e-12, `norm ${norms[t]} vs ${n}`);
    const scale = Math.min(1, 0.5 / (n + 1e-6));
    for (let i = 0; i < 3; i++) q[i] = q[i]! - lrs(t) * g[i]! * scale;
  }
  p.forEach((x, i) => assert.ok(Math.abs(x - q[i]!) < 1e-12, `param ${i}: ${x} vs ${q[i]}`));
  assert.ok(Math.abs(schedules.warmupCosine({ peak: 1, warmupSteps: 0, totalSteps: 10 })(10)) < 1e-12);
});

test('a NaN/Inf step is flagged and leaves params, optimizer state and step count unchanged', async () => {
  const t = await Trainer.create(
    (g) => {
      const x = g.input('x', [2]);
      const w = g.param('w', [2], { init: init.ones() });
      return { loss: x.mul(w).log().sum() };
    },
    { dtype: 'float64', optimizer: adamw({ lr: 0.1 }) },
  );
  const good = Tensor.from([1, 2], undefined, 'float64');
  const r1 = await t.step({ x: good });
  assert.ok(r1.finite);
  const before = t.getParams().w!.toArray();
  const bad = await t.step({ x: Tensor.from([-1, 2], undefined, 'float64') });
  assert.not.ok(bad.finite);
  assert.ok(Number.isNaN(bad.loss));
  assert.is(bad.step, 1);
  assert.equal(t.getParams().w!.toArray(), before);
  const inf = await t.step({ x: Tensor.from([0, 2], undefined, 'float64') });
  assert.not.ok(inf.finite);
  // Continuing after bad steps matches a run that never saw them.
  const r2 = await t.step({ x: good });
  const ref = await Trainer.create(
    (g) => {
      const x = g.input('x', [2]);
      const w = g.param('w', [2], { init: init.ones() });
      return { loss: x.mul(w).log().sum() };
    },
    { dtype: 'float64', optimizer: adamw({ lr: 0.1 }) },
  );
  await ref.step({ x: good });
  const s2 = await ref.step({ x: good });
  assert.is(r2.loss, s2.loss);
  assert.equal(t.getParams().w!.toArray(), ref.getParams().w!.toArray());
});

test('frozen parameters (reference model) stay fixed; trainable selector picks adapters', async () => {
  const model = (g: Graph) => {
    const x = g.input('x', [3, 2]);
    const y = g.input('y', [3, 1]);
    const base = g.param('base.W', [2, 1], { init: init.values(Tensor.from(W0, undefined, 'float64')) });
    const ref = g.param('ref.W', [2, 1], { init: init.values(Tensor.from(W0, undefined, 'float64')), trainable: false });
    const lora = g.param('lora.A', [2, 1], { init: init.zeros() });
    const pred = x.matmul(base.add(lora));
    const refPred = x.matmul(ref);
    return { loss: pred.sub(y).square().mean().add(pred.sub(refPred).square().mean().mul(0.1)) };
  };
  const t = await Trainer.create(model, { dtype: 'float64', optimizer: sgd({ lr: 0.1 }), trainable: /^lora\./ });
  assert.equal(t.layout.trainable.map((s) => s.name), ['lora.A']);
  assert.equal(t.layout.frozen.map((s) => s.name), ['base.W', 'ref.W']);
  for (let i = 0; i < 3; i++) await t.step(feeds64());
  const p = t.getParams();
  assert.equal(p['base.W']!.toArray(), [0.1, -0.3]);
  assert.equal(p['ref.W']!.toArray(), [0.1, -0.3]);
  assert.ok(p['lora.A']!.toArray().some((v) => v !== 0));
  t.setParams({ 'ref.W': Tensor.from([[1], [1]], undefined, 'float64') });
  assert.equal(t.getParams()['ref.W']!.toArray(), [1, 1]);
});

test('trainer feeds are checked: missing, mis-shaped, unknown output', async () => {
  const t = await Trainer.create(linearModel, { dtype: 'float64' });
  await rejects(() => t.step({ x: feeds64().x }), /trainer\.step: missing feed 'y'/);
  await rejects(() => t.step({ ...feeds64(), y: Tensor.from([1, 2, 3], undefined, 'float64') }), /feed 'y' has shape \[3\], expected \[3, 1\]/);
  await rejects(() => t.step({ ...feeds64(), x: Tensor.from(X) }), /feed 'x' is float32, expected float64/);
  await rejects(() => t.step(feeds64(), { outputs: ['nope'] }), /unknown output 'nope'/);
  const r = await t.step(feeds64(), { outputs: ['pred'] });
  assert.equal(r.outputs.pred!.shape, [3, 1]);
  const ev = await t.evaluate(feeds64());
  assert.ok(ev.loss!.item() < r.loss);
});

test('checkpoint: save → load → continue gives exactly the same losses; safetensors layout; atomic', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kern-ckpt-'));
  try {
    const opts = { dtype: 'float32' as const, optimizer: adamw({ lr: 0.05 }), seed: 3 };
    const feeds = { x: Tensor.from(X), y: Tensor.from(Y) };
    const a = await Trainer.create(linearModel, opts);
    const straight: number[] = [];
    for (let i = 0; i < 6; i++) straight.push((await a.step(feeds)).loss);

    const b = await Trainer.create(linearModel, opts);
    for (let i = 0; i < 3; i++) await b.step(feeds);
    const file = join(dir, 'sub', 'ckpt.safetensors');
    await b.save(file);
    assert.equal(await readdir(join(dir, 'sub')), ['ckpt.safetensors']); // no temp file left behind
    const c = await Trainer.create(linearModel, { ...opts, seed: 99 });
    await c.load(file);
    assert.is(c.stepCount, 3);
    const resumed: number[] = [];
    for (let i = 0; i < 3; i++) resumed.push((await c.step(feeds)).loss);
    assert.equal(resumed, straight.slice(3));

    // Independent parse of the layout: u64 header length, JSON header, raw little-endian data.
    const bytes = await readFile(file);
    const hlen = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + hlen).toString('utf8'));
    assert.equal(header['param.W'].shape, [2, 1]);
    assert.is(header['param.W'].dtype, 'F32');
    assert.is(header.__metadata__.step, '3');
    assert.ok(header['optim.m.b'] && header['optim.v.W']);
    const decoded = decodeSafetensors(bytes);
    assert.equal(decoded.tensors['param.W']!.toArray(), b.getParams().W!.toArray());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('loading a checkpoint from another model names every difference', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kern-ckpt-'));
  try {
    const a = await Trainer.create(linearModel, { optimizer: adamw() });
    const file = join(dir, 'a.safetensors');
    await a.save(file);
    const other = await Trainer.create(
      (g) => {
        const x = g.input('x', [3, 2]);
        const W = g.param('W', [2, 3]);
        const c = g.param('c', [3]);
        return { loss: x.matmul(W).add(c).sum() };
      },
      { optimizer: adamw() },
    );
    const e = await rejects(() => other.load(file), /does not match this model/);
    assert.match(e.message, /'param\.W': shape \[2, 1\] in the checkpoint, \[2, 3\] in the model/);
    assert.match(e.message, /missing tensor 'param\.c'/);
    assert.match(e.message, /unexpected tensor 'param\.b'/);
    const sgdTrainer = await Trainer.create(linearModel, { optimizer: sgd({ momentum: 0.9 }) });
    await rejects(() => sgdTrainer.load(file), /optimizer is 'adamw' in the checkpoint, 'sgd' in this trainer/);
    const f64 = await Trainer.create(linearModel, { dtype: 'float64', optimizer: adamw() });
    await rejects(() => f64.load(file), /'param\.W': dtype float32 in the checkpoint, float64 in the model/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('worker-thread trainer: same losses as in-process, event loop stays responsive', async () => {
  const big = (g: Graph) => {
    const x = g.input('x', [256, 256]);
    const W = g.param('W', [256, 256], { init: init.normal(0.05) });
    let h = x;
    for (let i = 0; i < 8; i++) h = o.tanh(h.matmul(W));
    return { loss: h.square().mean() };
  };
  const x = new Tensor('float32', [256, 256], Float32Array.from({ length: 65536 }, (_, i) => Math.sin(i)));
  const inline = await Trainer.create(big, { seed: 5 });
  const off = await Trainer.create(big, { seed: 5, worker: true });
  try {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    const lossesOff: number[] = [];
    for (let i = 0; i < 5; i++) lossesOff.push((await off.step({ x })).loss);
    const elapsed = performance.now() - t0;
    clearInterval(timer);
    const lossesIn: number[] = [];
    for (let i = 0; i < 5; i++) lossesIn.push((await inline.step({ x })).loss);
    assert.equal(lossesOff, lossesIn);
    // With the work off-thread the 1 ms timer keeps firing (in-process it would fire ~once per step).
    assert.ok(ticks > Math.min(20, elapsed / 4), `only ${ticks} ticks in ${elapsed.toFixed(0)} ms`);
  } finally {
    await off.dispose();
  }
});

test.run();
