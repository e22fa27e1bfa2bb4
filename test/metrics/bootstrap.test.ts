import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from 'tessera';
import { bootstrapInterval, excludesZero, seedSpread } from '../../plugins/metrics/bootstrap.ts';
import { compareArms, metricMarkdown, MIN_CI_SAMPLES } from '../../plugins/metrics/compare.ts';

const values = (n: number, seed: number) => {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => 10 + 3 * rng.normal());
};

test('identical arms: the difference is 0 with a CI of width 0', () => {
  const a = [values(50, 1)];
  const d = bootstrapInterval(a, a, { resamples: 500, seed: 3 });
  assert.equal(d, { mean: 0, lo: 0, hi: 0, n: 50 });
  assert.not.ok(excludesZero(d));
});

test('a constant shift: the CI of the difference is the shift itself', () => {
  const b = values(40, 2);
  const a = b.map((x) => x + 0.75);
  const d = bootstrapInterval([a], [b], { resamples: 1000, seed: 1 });
  for (const v of [d.mean!, d.lo!, d.hi!]) assert.ok(Math.abs(v - 0.75) < 1e-9, `got ${v}`);
  assert.ok(excludesZero(d));
});

test('the CI of a mean matches the normal approximation on a large sample', () => {
  // 400 clusters, half 0 and half 1: mean 0.5, standard error 0.5/√400 = 0.025 → ±0.049.
  const a = Array.from({ length: 400 }, (_, i) => i % 2);
  const iv = bootstrapInterval([a], null, { resamples: 4000, seed: 7 });
  assert.is(iv.mean, 0.5);
  assert.ok(Math.abs(iv.lo! - 0.451) < 0.008 && Math.abs(iv.hi! - 0.549) < 0.008, `[${iv.lo}, ${iv.hi}]`);
});

test('pairing: a noisy common component cancels in the difference, not in each mean', () => {
  const common = values(60, 4);
  const rng = new Rng(9);
  const a = common.map((x) => x + 0.5 + 0.05 * rng.normal());
  const paired = bootstrapInterval([a], [common], { seed: 2 });
  const alone = bootstrapInterval([a], null, { seed: 2 });
  assert.ok(paired.hi! - paired.lo! < 0.1 * (alone.hi! - alone.lo!), 'paired CI is far narrower');
  assert.ok(paired.lo! > 0.4 && paired.hi! < 0.6);
});

test('ratios pool over clusters; seeds are averaged within a resample; missing clusters drop', () => {
  const r = bootstrapInterval([[{ num: 1, den: 2 }, { num: 3, den: 3 }, null]], null, { resamples: 200 });
  assert.is(r.mean, 4 / 5);
  assert.is(r.n, 2);
  const s0 = [1, 2, 3];
  const s1 = [3, 4, 5];
  const two = bootstrapInterval([s0, s1], null, { resamples: 200 });
  assert.is(two.mean, 3);
  assert.equal(seedSpread([s0, s1]), [2, 4]);
  // Same seed, same interval.
  assert.equal(bootstrapInterval([s0, s1], null, { resamples: 300, seed: 5 }), bootstrapInterval([s0, s1], null, { resamples: 300, seed: 5 }));
});

test('misaligned arms and bad options are refused', () => {
  assert.throws(() => bootstrapInterval([[1, 2, 3]], [[1, 2]]), /arm b seed 0 has 2 clusters, expected 3/);
  assert.throws(() => bootstrapInterval([[1, 2], [1]], null), /arm a seed 1 has 1 clusters/);
  assert.throws(() => bootstrapInterval([[1]], null, { resamples: 0 }), /resamples must be a positive integer/);
  assert.throws(() => bootstrapInterval([[1]], null, { level: 1 }), /level must be in \(0, 1\)/);
  assert.equal(bootstrapInterval([[null, null]], null), { mean: null, lo: null, hi: null, n: 0 });
});

test('tables give no CI (and no bold) at a K with fewer than MIN_CI_SAMPLES samples', () => {
  // K = 1: 4 samples, K = 2: 12; arm "b" is "a" + 5 everywhere (a difference no CI could miss).
  const ids = Array.from({ length: 16 }, (_, i) => `s${i}`);
  const kOf = new Map(ids.map((id, i) => [id, i < 4 ? 1 : 2]));
  const arm = (name: string, shift: number) => ({ name, label: name, seeds: [new Map(ids.map((id, i) => [id, { identityPsnr: 10 + shift + (i % 3) }]))] });
  const table = compareArms([arm('a', 0), arm('b', 5)], kOf, { reference: 'a', resamples: 200, metrics: ['identityPsnr'] });
  const cell = (k: number) => table.find((t) => t.k === k)!.rows.find((r) => r.arm === 'b')!.cells.identityPsnr!;
  assert.ok(4 < MIN_CI_SAMPLES && 12 >= MIN_CI_SAMPLES);
  assert.is(cell(1).value.lo, null);
  assert.is(cell(1).diff!.hi, null);
  assert.is(cell(1).resolved, false);
  assert.ok(Math.abs(cell(1).diff!.mean! - 5) < 1e-9, 'the mean difference is still reported');
  assert.is(cell(2).resolved, true);
  const md = metricMarkdown(table, 'identityPsnr', 'PSNR');
  assert.match(md, /no CI: n < 10/);
  assert.match(md, /\*\*\d+\.\d+ \[/, 'the K = 2 cell is bold with its CI');
});

test.run();
