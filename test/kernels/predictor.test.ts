// Predictor: forward-only inference from named parameter values (baked into the session).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Predictor, SessionCache, Tensor, Trainer, adamw, init, ops, saveSafetensors, type Graph } from '../../kernels/index.ts';
import { rejects } from './util.ts';

function body(g: Graph) {
  const x = g.input('x', [5, 3]);
  const w1 = g.param('w1', [3, 8], { init: init.xavier() });
  const b1 = g.param('b1', [8], { init: init.normal(0.1), decay: false });
  const w2 = g.param('w2', [8, 2], { init: init.xavier() });
  const ref = g.param('ref', [2], { init: init.normal(0.5), trainable: false }); // frozen
  const pred = ops.linear(ops.linear(x, w1, b1).gelu(), w2).add(ref);
  return { x, pred };
}
const model = (g: Graph) => {
  const { pred } = body(g);
  const y = g.input('y', [5, 2]);
  return { loss: pred.sub(y).square().mean(), outputs: { pred } };
};
const program = (g: Graph) => ({ pred: body(g).pred });

const xs = Tensor.from([...Array(15)].map((_, i) => Math.cos(i * 0.7)), [5, 3]);
const ys = Tensor.from([...Array(10)].map((_, i) => Math.sin(i)), [5, 2]);

function close(a: Tensor, b: Tensor, tol: number) {
  assert.equal(a.shape, b.shape);
  const x = a.toArray();
  const y = b.toArray();
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i]! - y[i]!) <= tol * (1 + Math.abs(y[i]!)), `element ${i}: ${x[i]} vs ${y[i]}`);
}

test('Predictor output equals trainer.evaluate for the same params (float32 and float64)', async () => {
  const t = await Trainer.create(model, { optimizer: adamw({ lr: 0.05 }), seed: 2 });
  for (let i = 0; i < 3; i++) await t.step({ x: xs, y: ys });
  const p = await Predictor.create(program, t.getParams());
  assert.equal(p.inputNames, ['x']);
  assert.equal(p.outputNames, ['pred']);
  const { pred } = await p.run({ x: xs });
  const ev = await t.evaluate({ x: xs, y: ys }, ['pred']);
  close(pred!, ev.pred!, 1e-6);
  // Repeated runs with fixed params give the same result.
  assert.equal((await p.run({ x: xs }, ['pred'])).pred!.toArray(), pred!.toArray());
  await p.dispose();
  await rejects(() => p.run({ x: xs }), /disposed/);

  const t64 = await Trainer.create(model, { dtype: 'float64', optimizer: adamw({ lr: 0.05 }), seed: 2 });
  await t64.step({ x: Tensor.from(xs.toArray(), [5, 3], 'float64'), y: Tensor.from(ys.toArray(), [5, 2], 'float64') });
  const p64 = await Predictor.create(program, t64.getParams(), { dtype: 'float64' });
  const x64 = Tensor.from(xs.toArray(), [5, 3], 'float64');
  const ev64 = await t64.evaluate({ x: x64, y: Tensor.from(ys.toArray(), [5, 2], 'float64') }, ['pred']);
  close((await p64.run({ x: x64 })).pred!, ev64.pred!, 1e-12);
  // float64 params into a float32 program are converted.
  const p32 = await Predictor.create(program, t64.getParams());
  close((await p32.run({ x: xs })).pred!, ev64.pred!, 1e-5);
  await p64.dispose();
  await p32.dispose();
});

test('Predictor: one error lists every missing, unexpected and mis-shaped param; feeds and outputs are checked', async () => {
  const t = await Trainer.create(model, { seed: 1 });
  const params = t.getParams();
  const bad = { ...params, w2: Tensor.zeros([2, 8]), extra: Tensor.zeros([1]) } as Record<string, Tensor>;
  delete bad.b1;
  const e = await rejects(() => Predictor.create(program, bad), /Predictor: parameters do not match the program/);
  assert.match(e.message, /missing parameter 'b1' \[8\]/);
  assert.match(e.message, /'w2': shape \[2, 8\] given, \[8, 2\] in the program/);
  assert.match(e.message, /unexpected parameter 'extra' \[1\]/);

  const p = await Predictor.create(program, params);
  await rejects(() => p.run({ x: Tensor.zeros([4, 3]) }), /predictor\.run: feed 'x' has shape \[4, 3\], expected \[5, 3\]/);
  await rejects(() => p.run({}), /predictor\.run: missing feed 'x'/);
  await rejects(() => p.run({ x: xs, y: ys }), /predictor\.run: unknown feed 'y'/);
  await rejects(() => p.run({ x: xs }, ['loss']), /predictor\.run: unknown output 'loss' \(outputs: pred\)/);
  await p.dispose();
});

test('paramsFromCheckpoint reads Trainer checkpoints and saveParams files; a shared cache is reused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kern-pred-'));
  try {
    const t = await Trainer.create(model, { optimizer: adamw({ lr: 0.05 }), seed: 4 });
    for (let i = 0; i < 2; i++) await t.step({ x: xs, y: ys });
    const ev = (await t.evaluate({ x: xs, y: ys }, ['pred'])).pred!;
    await t.save(join(dir, 'full.safetensors'), { run: 'a' });
    await t.saveParams(join(dir, 'w.safetensors'), { run: 'b' });
    const full = await Predictor.paramsFromCheckpoint(join(dir, 'full.safetensors'));
    const small = await Predictor.paramsFromCheckpoint(join(dir, 'w.safetensors'));
    assert.equal(Object.keys(full.params).sort(), ['b1', 'ref', 'w1', 'w2']);
    assert.equal(Object.keys(small.params).sort(), ['b1', 'ref', 'w1', 'w2']);
    assert.is(full.metadata.run, 'a');
    assert.is(full.metadata.format, 'tessera-kernels-checkpoint/1');
    assert.is(small.metadata.run, 'b');
    assert.is(small.metadata.format, 'tessera-kernels-params/1');
    for (const k of Object.keys(full.params)) assert.equal(full.params[k]!.toArray(), small.params[k]!.toArray());

    const cache = new SessionCache();
    const a = await Predictor.create(program, full.params, { cache });
    const b = await Predictor.create(program, small.params, { cache });
    assert.is(cache.size, 1); // same program + same weights → one session
    close((await a.run({ x: xs })).pred!, ev, 1e-6);
    close((await b.run({ x: xs })).pred!, ev, 1e-6);
    await cache.clear();

    await saveSafetensors(join(dir, 'other.safetensors'), { W: Tensor.zeros([1]) }, { format: 'something/1' });
    await rejects(() => Predictor.paramsFromCheckpoint(join(dir, 'other.safetensors')), /format 'something\/1', expected/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
