// Trainer variants (one parameter set, several step graphs, e.g. MOSAIC's token count per K),
// checkpoint metadata and weights-only files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor, Trainer, adamw, init, sgd, type Graph, type ModelFn, type TrainerOptions } from '../../kernels/index.ts';
import { rejects } from './util.ts';

const D = 3;
const H = 2;

/** A tiny token model: per-token linear + GELU + pooled readout; weights independent of T. */
function tokenModel(T: number, extra = false): ModelFn {
  return (g: Graph) => {
    const x = g.input('x', [T, D]);
    const y = g.input('y', [1, H]);
    const W = g.param('W', [D, H], { init: init.xavier() });
    const b = g.param('b', [H], { init: init.normal(0.1), decay: false });
    let h = x.matmul(W).add(b).gelu();
    if (extra) h = h.mul(g.param('scale', [H], { init: init.ones() }));
    const pooled = h.mean([0], true);
    return { loss: pooled.sub(y).square().mean(), outputs: { pooled } };
  };
}

function feeds(T: number, k: number, dtype: 'float32' | 'float64' = 'float32') {
  const xs: number[] = [];
  for (let i = 0; i < T * D; i++) xs.push(Math.sin(1.7 * i + k) * 0.9);
  return { x: new Tensor(dtype, [T, D], dtype === 'float32' ? Float32Array.from(xs) : Float64Array.from(xs)), y: Tensor.from([[0.3 * k, -0.2]], undefined, dtype) };
}

const flat = (t: Trainer) => Object.entries(t.getParams()).flatMap(([k, v]) => [k, ...v.toArray()]);

async function withVariants(opts: TrainerOptions): Promise<Trainer> {
  const t = await Trainer.create(tokenModel(4), opts);
  await t.addVariant('k2', tokenModel(6));
  await t.addVariant('k3', tokenModel(9));
  return t;
}

const opts: TrainerOptions = { optimizer: adamw({ lr: 0.05 }), seed: 7 };

test('variants with different token counts share one parameter set and train alternately', async () => {
  const t = await withVariants(opts);
  assert.equal(t.variants, ['', 'k2', 'k3']);
  const p0 = flat(t);
  const r1 = await t.step(feeds(4, 1));
  const r2 = await t.step(feeds(6, 2), { variant: 'k2', outputs: ['pooled'] });
  const r3 = await t.step(feeds(9, 3), { variant: 'k3' });
  const r4 = await t.step(feeds(4, 1), { variant: 'base' });
  assert.equal([r1.step, r2.step, r3.step, r4.step], [1, 2, 3, 4]);
  assert.is(t.stepCount, 4);
  assert.equal(r2.outputs.pooled!.shape, [1, H]);
  assert.not.equal(flat(t), p0);
  // A variant's feeds are checked against its own shapes.
  await rejects(() => t.step(feeds(4, 1), { variant: 'k2' }), /trainer\.step: feed 'x' has shape \[4, 3\], expected \[6, 3\]/);
  await rejects(() => t.step(feeds(4, 1), { variant: 'k7' }), /unknown variant 'k7' \(known: '' \(base\), 'k2', 'k3'\)/);
  await rejects(() => t.evaluate(feeds(4, 1), undefined, { variant: 'nope' }), /trainer\.evaluate: unknown variant 'nope'/);
  // evaluate per variant reads the shared params; the loss equals the next step's reported loss.
  const ev = await t.evaluate(feeds(9, 3), ['loss', 'pooled'], { variant: 'k3' });
  const next = await t.step(feeds(9, 3), { variant: 'k3' });
  assert.ok(Math.abs(ev.loss!.item() - next.loss) < 1e-6);
  await t.dispose();
});

test('(A, B, A) is deterministic and differs from (A, A, A); a B step after A equals B on A-trained params (SGD, float64)', async () => {
  const run = async (seq: string[]) => {
    const t = await withVariants(opts);
    const T: Record<string, number> = { '': 4, k2: 6, k3: 9 };
    for (const v of seq) await t.step(feeds(T[v]!, 1), { variant: v });
    return flat(t);
  };
  const aba1 = await run(['', 'k2', '']);
  const aba2 = await run(['', 'k2', '']);
  const aaa = await run(['', '', '']);
  assert.equal(aba1, aba2);
  assert.not.equal(aba1, aaa);

  // Plain SGD has no state, so "step A then step B" must equal a separate B-only trainer started
  // from the params after A: the variant's graph really computes B's gradient on shared params.
  const o64: TrainerOptions = { dtype: 'float64', optimizer: sgd({ lr: 0.1 }), seed: 5 };
  const both = await Trainer.create(tokenModel(4), o64);
  await both.addVariant('long', tokenModel(9));
  await both.step(feeds(4, 1, 'float64'));
  const afterA = both.getParams();
  const rb = await both.step(feeds(9, 2, 'float64'), { variant: 'long' });
  const onlyB = await Trainer.create(tokenModel(9), o64);
  onlyB.setParams(afterA);
  const rb2 = await onlyB.step(feeds(9, 2, 'float64'));
  assert.is(rb.loss, rb2.loss);
  assert.equal(flat(both), flat(onlyB));
});

test('addVariant: layout mismatch names the parameter; repeated keys; reserved base key', async () => {
  const t = await Trainer.create(tokenModel(4), opts);
  const wide: ModelFn = (g) => {
    const x = g.input('x', [4, D]);
    const W = g.param('W', [D, 5]);
    g.param('b', [5], { decay: false });
    return { loss: x.matmul(W).mean() };
  };
  await rejects(() => t.addVariant('wide', wide), /addVariant\('wide'\): parameter layout differs from the base graph: parameter 'W': trainable slot 0 is 'W' \[3, 2\] at offset 0 in the base graph, 'W' \[3, 5\] at offset 0 in the variant/);
  await rejects(() => t.addVariant('extra', tokenModel(4, true)), /parameter 'scale' exists only in the variant/);
  const noDecayB: ModelFn = (g) => {
    const x = g.input('x', [4, D]);
    const W = g.param('W', [D, H]);
    const b = g.param('b', [H]);
    return { loss: x.matmul(W).add(b).mean() };
  };
  await rejects(() => t.addVariant('decay', noDecayB), /parameter 'b'/);
  assert.equal(t.variants, ['']); // failed variants are not registered

  let traced = 0;
  const fn: ModelFn = (g) => (traced++, tokenModel(6)(g));
  await Promise.all([t.addVariant('k2', fn), t.addVariant('k2', fn)]); // concurrent: built once
  await t.addVariant('k2', fn); // no-op: nothing traced again
  assert.is(traced, 1);
  assert.equal(t.variants, ['', 'k2']);
  await rejects(() => t.addVariant('k2', tokenModel(6)), /variant 'k2' already exists with another model function/);
  await rejects(() => t.addVariant('base', fn), /base graph's key/);
  await rejects(() => t.addVariant('', fn), /base graph's key/);
});

test('checkpoint across variants: save → load → continue is exact; metadata round trip; reserved keys', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kern-var-'));
  try {
    const plan: [string, number][] = [['', 4], ['k2', 6], ['k3', 9], ['k2', 6], ['', 4], ['k3', 9]];
    const a = await withVariants(opts);
    const straight: number[] = [];
    for (const [v, T] of plan) straight.push((await a.step(feeds(T, straight.length), { variant: v })).loss);

    const b = await withVariants(opts);
    for (let i = 0; i < 3; i++) await b.step(feeds(plan[i]![1], i), { variant: plan[i]![0] });
    const file = join(dir, 'ckpt.safetensors');
    await b.save(file, { model: 'mosaic', refs: '1,2,3' });
    const header = JSON.parse((await readFile(file)).subarray(8, 8 + Number((await readFile(file)).readBigUInt64LE(0))).toString('utf8'));
    assert.is(header.__metadata__.model, 'mosaic');
    assert.is(header.__metadata__.format, 'tessera-kernels-checkpoint/1');

    const c = await withVariants({ ...opts, seed: 99 });
    const meta = await c.load(file);
    assert.is(meta.model, 'mosaic');
    assert.is(meta.refs, '1,2,3');
    assert.is(meta.step, '3');
    assert.is(c.stepCount, 3);
    const resumed: number[] = [];
    for (let i = 3; i < plan.length; i++) resumed.push((await c.step(feeds(plan[i]![1], i), { variant: plan[i]![0] })).loss);
    assert.equal(resumed, straight.slice(3));
    assert.equal(flat(c), flat(a));

    await rejects(() => b.save(join(dir, 'bad.safetensors'), { step: '12' }), /trainer\.save: metadata key 'step' is reserved/);
    await rejects(() => b.saveParams(join(dir, 'bad.safetensors'), { format: 'x' }), /trainer\.saveParams: metadata key 'format' is reserved/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('saveParams: weights only; load accepts it and restarts optimizer state and counters', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kern-var-'));
  try {
    const a = await withVariants(opts);
    for (let i = 0; i < 3; i++) await a.step(feeds(6, i), { variant: 'k2' });
    const file = join(dir, 'w.safetensors');
    await a.saveParams(file, { note: 'bundled' });
    const bytes = await readFile(file);
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
    assert.equal(Object.keys(header).filter((k) => k !== '__metadata__').sort(), ['param.W', 'param.b']);
    assert.equal(header.__metadata__, { note: 'bundled', format: 'tessera-kernels-params/1', dtype: 'float32' });

    const b = await Trainer.create(tokenModel(6), { ...opts, seed: 1 });
    await b.step(feeds(6, 0));
    const meta = await b.load(file);
    assert.is(meta.note, 'bundled');
    assert.is(b.stepCount, 0);
    assert.equal(flat(b), flat(a));
    // Same as a fresh trainer given these params: optimizer state and step counter are zero.
    const fresh = await Trainer.create(tokenModel(6), opts);
    fresh.setParams(a.getParams());
    assert.equal((await b.step(feeds(6, 5))).loss, (await fresh.step(feeds(6, 5))).loss);
    assert.equal(flat(b), flat(fresh));

    const other = await Trainer.create(tokenModel(4, true), opts);
    await rejects(() => other.load(file), /missing tensor 'param\.scale'/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('worker trainer: variants run in the worker and dispose releases them', async () => {
  const t = await Trainer.create(tokenModel(4), { ...opts, worker: true });
  await t.addVariant('k2', tokenModel(6));
  const ref = await withVariants(opts);
  const a = [(await t.step(feeds(4, 1))).loss, (await t.step(feeds(6, 2), { variant: 'k2' })).loss];
  const b = [(await ref.step(feeds(4, 1))).loss, (await ref.step(feeds(6, 2), { variant: 'k2' })).loss];
  assert.equal(a, b);
  await t.evaluate(feeds(6, 2), ['loss'], { variant: 'k2' });
  await t.dispose();
});

test.run();
