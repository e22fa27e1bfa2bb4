// Trainer sessions without ORT's CPU arena and memory pattern (ALTERNATING_SESSIONS, what
// runTraining uses for mixed-K data): the same numbers bit for bit, exact save → load → continue, separate cache entries, and a
// peak resident set bounded by the largest variant instead of the sum of all variants (measured
// in child processes from /proc/self/status, so nothing else in this process counts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALTERNATING_SESSIONS, SessionCache, Tensor, Trainer, adamw, init, type Graph, type ModelFn, type TrainerOptions } from '../../kernels/index.ts';

const D = 64;

/** Per-token MLP with a wide hidden layer: activation memory grows with T, the weights do not. */
function tokenModel(T: number, hidden: number): ModelFn {
  return (g: Graph) => {
    const x = g.input('x', [T, D]);
    const w1 = g.param('w1', [D, hidden], { init: init.xavier() });
    const w2 = g.param('w2', [hidden, D], { init: init.xavier() });
    const y = x.matmul(w1).gelu().matmul(w2);
    return { loss: y.sub(x).square().mean() };
  };
}

const feeds = (T: number, k: number) => ({ x: new Tensor('float32', [T, D], Float32Array.from({ length: T * D }, (_, i) => Math.sin(0.37 * i + k))) });

async function trainer(lengths: readonly number[], hidden: number, opts: TrainerOptions): Promise<Trainer> {
  const t = await Trainer.create(tokenModel(lengths[0]!, hidden), { optimizer: adamw({ lr: 1e-2 }), seed: 3, spin: false, ...opts });
  for (const T of lengths.slice(1)) await t.addVariant(`t${T}`, tokenModel(T, hidden));
  return t;
}

const stepAll = async (t: Trainer, lengths: readonly number[], rounds: number, from = 0) => {
  const losses: number[] = [];
  for (let r = from; r < from + rounds; r++) {
    for (const [i, T] of lengths.entries()) losses.push((await t.step(feeds(T, r), { variant: i === 0 ? undefined : `t${T}` })).loss);
  }
  return losses;
};

const flat = (t: Trainer) => Object.values(t.getParams()).flatMap((v) => [...(v.data as Float32Array)]);

// Child mode: train the variants in this fresh process and print its peak and current RSS (KiB).
const child = process.argv.indexOf('--arena-child');
if (child >= 0) {
  const arena = process.argv[child + 1] === 'on';
  const lengths = [1024, 2048, 3072, 4096];
  const t = await trainer(lengths, 1024, { ...(arena ? {} : ALTERNATING_SESSIONS), cache: new SessionCache() });
  await stepAll(t, lengths, 2);
  const status = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)![1]);
  process.stdout.write(JSON.stringify({ hwm: kib('VmHWM'), rss: kib('VmRSS') }) + '\n');
  process.exit(0);
}

test('no arena (with and without the memory pattern): the same losses and params bit for bit, across alternating variants', async () => {
  const lengths = [8, 16, 24];
  const on = await trainer(lengths, 32, { cache: new SessionCache() });
  const off = await trainer(lengths, 32, { cpuArena: false, cache: new SessionCache() });
  const alternating = await trainer(lengths, 32, { ...ALTERNATING_SESSIONS, cache: new SessionCache() });
  try {
    const want = await stepAll(on, lengths, 3);
    assert.equal(await stepAll(off, lengths, 3), want);
    assert.equal(await stepAll(alternating, lengths, 3), want);
    assert.equal(flat(off), flat(on));
    assert.equal(flat(alternating), flat(on));
  } finally {
    await Promise.all([on.dispose(), off.dispose(), alternating.dispose()]);
  }
});

test('ALTERNATING_SESSIONS: save → load into a fresh trainer → continue equals the uninterrupted run', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-arena-'));
  const lengths = [8, 16];
  const whole = await trainer(lengths, 32, ALTERNATING_SESSIONS);
  const first = await trainer(lengths, 32, ALTERNATING_SESSIONS);
  const second = await trainer(lengths, 32, ALTERNATING_SESSIONS);
  try {
    const all = await stepAll(whole, lengths, 4);
    const a = await stepAll(first, lengths, 2);
    await first.save(join(dir, 'ckpt.safetensors'));
    await second.load(join(dir, 'ckpt.safetensors'));
    const b = await stepAll(second, lengths, 2, 2);
    assert.equal([...a, ...b], all);
    assert.equal(flat(second), flat(whole));
  } finally {
    await Promise.all([whole.dispose(), first.dispose(), second.dispose()]);
    await rm(dir, { recursive: true, force: true });
  }
});

test('the session cache keeps sessions with other arena / memory-pattern settings of one graph apart', async () => {
  const cache = new SessionCache();
  const ts = [await trainer([8], 16, { cache }), await trainer([8], 16, { cache, cpuArena: false }), await trainer([8], 16, { cache, memPattern: false }), await trainer([8], 16, { cache })];
  assert.is(cache.size, 3);
  for (const t of ts) await t.dispose();
  await cache.clear();
});

test('mixed variants with ALTERNATING_SESSIONS peak near the largest variant, not near the sum of all (child processes)', () => {
  const run = (arena: 'on' | 'off') => {
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--arena-child', arena], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    assert.is(r.status, 0, `child (arena ${arena}) failed`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { hwm: number; rss: number };
  };
  const on = run('on');
  const off = run('off');
  // Four variants whose working sets grow 1:2:3:4: with one arena each the peak holds all four
  // (≈ 10 units), without arenas one at a time (≈ 4). Generous bound: off at most 70 % of on.
  assert.ok(off.hwm < 0.7 * on.hwm, `peak RSS without arenas ${off.hwm} KiB, with ${on.hwm} KiB`);
  assert.ok(off.rss < on.rss, `RSS at the end without arenas ${off.rss} KiB, with ${on.rss} KiB`);
});

test.run();
