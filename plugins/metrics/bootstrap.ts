import { Rng } from 'tessera';

/**
 * Paired, cluster (sample) bootstrap confidence intervals. Pure functions: the same inputs and
 * seed give the same interval.
 *
 * A cluster is one evaluation sample. Each arm has, per training seed, one value per cluster —
 * either a plain number (the statistic is the mean over clusters) or a `{ num, den }` pair (the
 * statistic is the pooled ratio Σnum / Σden, e.g. retrieval accuracy pooled over subjects).
 * Arms are paired: every resample draws the same clusters for both arms, so what varies between
 * samples (hard layouts, small subjects) cancels in the difference.
 *
 * Several training seeds: the seeds share the clusters (every seed is evaluated on the same
 * samples), so a resample draws clusters and **averages the statistic over seeds within the
 * resample**. The interval is over evaluation samples at the seed-averaged model; the spread
 * between seeds is reported apart ({@link seedSpread}), not mixed into the interval.
 */

/** A cluster's contribution: a value, a ratio's numerator/denominator, or null (missing). */
export type ClusterValue = number | { readonly num: number; readonly den: number } | null;

/** One arm: values[seed][cluster]; every seed has one entry per cluster, in the same order. */
export type ArmValues = readonly (readonly ClusterValue[])[];

/** A point estimate with its percentile interval. */
export interface Interval {
  readonly mean: number | null;
  readonly lo: number | null;
  readonly hi: number | null;
  /** Clusters that entered the estimate (non-missing in every arm involved). */
  readonly n: number;
}

/** Options of the bootstrap. */
export interface BootstrapOptions {
  /** Resamples (default 2000). */
  readonly resamples?: number;
  /** Seed of the cluster draws (default 0). */
  readonly seed?: number;
  /** Two-sided coverage (default 0.95). */
  readonly level?: number;
}

const num = (v: ClusterValue): number => (typeof v === 'number' ? v : v!.num);
const den = (v: ClusterValue): number => (typeof v === 'number' ? 1 : v!.den);
const present = (v: ClusterValue | undefined): boolean =>
  v !== null && v !== undefined && (typeof v === 'number' ? Number.isFinite(v) : Number.isFinite(v.num) && Number.isFinite(v.den) && v.den >= 0);

function checkArm(arm: ArmValues, name: string, clusters: number): void {
  if (!Array.isArray(arm) || arm.length === 0) throw new RangeError(`bootstrap: arm ${name} has no seeds`);
  arm.forEach((seed, i) => {
    if (seed.length !== clusters) throw new RangeError(`bootstrap: arm ${name} seed ${i} has ${seed.length} clusters, expected ${clusters}`);
  });
}

/** Statistic of one arm over the chosen clusters (with multiplicity), averaged over seeds. */
function statistic(arm: ArmValues, draw: Int32Array, counts: Int32Array | null): number | null {
  let total = 0;
  let seeds = 0;
  for (const seed of arm) {
    let n = 0;
    let d = 0;
    for (let i = 0; i < draw.length; i++) {
      const c = draw[i]!;
      const w = counts ? counts[i]! : 1;
      n += w * num(seed[c]!);
      d += w * den(seed[c]!);
    }
    if (d > 0) {
      total += n / d;
      seeds++;
    }
  }
  return seeds > 0 ? total / seeds : null;
}

function quantile(sorted: readonly number[], q: number): number {
  // Linear interpolation between order statistics (type 7), so identical values give that value.
  const h = (sorted.length - 1) * q;
  const i = Math.floor(h);
  return i + 1 < sorted.length ? sorted[i]! + (h - i) * (sorted[i + 1]! - sorted[i]!) : sorted[i]!;
}

/**
 * The bootstrap interval of `f(statistic(arm a) [, statistic(arm b)])`: of one arm's statistic
 * (`b` absent) or of the difference a − b. Clusters missing in any seed of either arm are dropped
 * (pairing needs both). Percentile interval over `resamples` draws of n clusters with replacement.
 */
export function bootstrapInterval(a: ArmValues, b: ArmValues | null, opts: BootstrapOptions = {}): Interval {
  const clusters = a[0]?.length ?? 0;
  checkArm(a, 'a', clusters);
  if (b) checkArm(b, 'b', clusters);
  const resamples = opts.resamples ?? 2000;
  const level = opts.level ?? 0.95;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`bootstrap: resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrap: level must be in (0, 1), got ${level}`);
  const keep: number[] = [];
  for (let c = 0; c < clusters; c++) {
    if (a.every((s) => present(s[c])) && (!b || b.every((s) => present(s[c])))) keep.push(c);
  }
  const n = keep.length;
  if (n === 0) return { mean: null, lo: null, hi: null, n: 0 };
  const all = Int32Array.from(keep);
  const stat = (draw: Int32Array, counts: Int32Array | null): number | null => {
    const sa = statistic(a, draw, counts);
    if (!b) return sa;
    const sb = statistic(b, draw, counts);
    return sa === null || sb === null ? null : sa - sb;
  };
  const mean = stat(all, null);
  const rng = new Rng(opts.seed ?? 0);
  const counts = new Int32Array(n);
  const stats: number[] = [];
  for (let r = 0; r < resamples; r++) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[rng.int(n)]!++;
    const s = stat(all, counts);
    if (s !== null) stats.push(s);
  }
  if (stats.length === 0) return { mean, lo: null, hi: null, n };
  stats.sort((x, y) => x - y);
  return { mean, lo: quantile(stats, (1 - level) / 2), hi: quantile(stats, 1 - (1 - level) / 2), n };
}

/** True when the interval lies strictly on one side of 0 (the difference is resolved). */
export const excludesZero = (iv: Interval): boolean => iv.lo !== null && iv.hi !== null && (iv.lo > 0 || iv.hi < 0);

/** Per-seed statistics of an arm (each seed's own mean or pooled ratio over its present clusters). */
export function seedSpread(arm: ArmValues): (number | null)[] {
  return arm.map((seed) => {
    const idx = Int32Array.from(seed.flatMap((v, c) => (present(v) ? [c] : [])));
    return idx.length ? statistic([seed], idx, null) : null;
  });
}
