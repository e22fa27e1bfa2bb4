import { type ArmValues, type BootstrapOptions, bootstrapInterval, type ClusterValue, excludesZero, type Interval } from './bootstrap.ts';
import type { SampleMetrics } from './evaluate.ts';

/**
 * Arms compared on the same samples with paired cluster-bootstrap intervals (bootstrap.ts): an
 * arm is a model, a seed-set of one model, a baseline, or a chance level, scored per sample.
 */

/** The per-sample numbers an arm is compared on, keyed by metric. */
export type SampleScores = Readonly<Record<string, ClusterValue>>;

/** One arm: per training seed, per sample id, its scores. */
export interface Arm {
  readonly name: string;
  readonly label: string;
  readonly seeds: readonly ReadonlyMap<string, SampleScores>[];
}

/** Metrics of the comparison tables, in column order, with their direction. */
export const COMPARED: readonly { readonly key: string; readonly title: string; readonly higherIsBetter: boolean }[] = [
  { key: 'identityPsnr', title: 'subject PSNR dB', higherIsBetter: true },
  { key: 'subjectSsim', title: 'subject SSIM', higherIsBetter: true },
  { key: 'edgeCorr', title: 'edge correlation', higherIsBetter: true },
  { key: 'descriptorCos', title: 'descriptor cosine', higherIsBetter: true },
  { key: 'retrievalAcc', title: 'retrieval', higherIsBetter: true },
  { key: 'pck@1', title: 'PCK@1', higherIsBetter: true },
  { key: 'tf:pck@1', title: 'PCK@1 teacher-forced', higherIsBetter: true },
];

/**
 * The scores of one evaluated sample: every scalar, each `pck@r` (and `tf:pck@r` for teacher-
 * forced attention); retrieval as a ratio of subjects (pooled, as the per-K table pools it), so
 * its interval is of the pooled accuracy.
 */
export function scoresOf(m: SampleMetrics): Record<string, ClusterValue> {
  const evaluated = m.subjects.filter((s) => s.correct !== null);
  const out: Record<string, ClusterValue> = Object.create(null) as Record<string, ClusterValue>;
  for (const key of ['identityPsnr', 'subjectSsim', 'edgeCorr', 'descriptorCos', 'colorLeak', 'textureLeak', 'backgroundPsnr', 'imagePsnr', 'imageMae'] as const) out[key] = m[key];
  out.retrievalAcc = evaluated.length ? { num: evaluated.filter((s) => s.correct).length, den: evaluated.length } : null;
  out.retrievalChance = evaluated.length ? { num: evaluated.reduce((a, s) => a + 1 / s.candidates, 0), den: evaluated.length } : null;
  for (const [r, v] of Object.entries(m.pck)) out[r] = v;
  for (const [r, v] of Object.entries(m.teacherPck ?? {})) out[`tf:${r}`] = v;
  return out;
}

/** One cell: the arm's interval and, for arms other than the reference, the difference's. */
export interface Cell {
  readonly value: Interval;
  readonly diff: Interval | null;
  /** The difference's interval excludes 0. */
  readonly resolved: boolean;
}

/** One arm's row at one K. */
export interface ComparisonRow {
  readonly arm: string;
  readonly label: string;
  readonly seeds: number;
  readonly cells: Readonly<Record<string, Cell>>;
}

/** The comparison of every arm at one K. */
export interface ComparisonK {
  readonly k: number;
  readonly samples: number;
  readonly rows: readonly ComparisonRow[];
}

/** Options: the reference arm of the differences, the bootstrap's settings, the metrics. */
export interface CompareOptions extends BootstrapOptions {
  readonly reference: string;
  readonly metrics?: readonly string[];
}

/** Fewest samples at one K for which a table gives confidence intervals (and bold marks). */
export const MIN_CI_SAMPLES = 10;

/**
 * Per K (from `kOf`, by sample id), every arm's interval and its paired difference to the
 * reference arm, over the sample ids all arms share at that K. A metric an arm does not have
 * (e.g. PCK of a fill) is left out of its row.
 */
export function compareArms(arms: readonly Arm[], kOf: ReadonlyMap<string, number>, opts: CompareOptions): ComparisonK[] {
  const ref = arms.find((a) => a.name === opts.reference);
  if (!ref) throw new RangeError(`compare: no arm named ${opts.reference} (arms: ${arms.map((a) => a.name).join(', ')})`);
  const metrics = opts.metrics ?? COMPARED.map((c) => c.key);
  const ks = [...new Set(kOf.values())].sort((a, b) => a - b);
  return ks.map((k) => {
    const ids = [...kOf].filter(([id, kk]) => kk === k && arms.every((a) => a.seeds.every((s) => s.has(id)))).map(([id]) => id);
    const values = (arm: Arm, m: string): ArmValues | null => {
      const v = arm.seeds.map((s) => ids.map((id) => s.get(id)![m] ?? null));
      return v.some((seed) => seed.some((x) => x !== null)) ? v : null;
    };
    const rows = arms.map((arm) => {
      const cells: Record<string, Cell> = Object.create(null) as Record<string, Cell>;
      for (const m of metrics) {
        const a = values(arm, m);
        if (!a) continue;
        const b = arm === ref ? null : values(ref, m);
        let diff = b ? bootstrapInterval(a, b, opts) : null;
        let value = bootstrapInterval(a, null, opts);
        if (ids.length < MIN_CI_SAMPLES) {
          // A percentile bootstrap over a handful of samples gives intervals that look precise and are not.
          value = { ...value, lo: null, hi: null };
          diff = diff && { ...diff, lo: null, hi: null };
        }
        cells[m] = { value, diff, resolved: diff !== null && excludesZero(diff) };
      }
      return { arm: arm.name, label: arm.label, seeds: arm.seeds.length, cells };
    });
    return { k, samples: ids.length, rows };
  });
}

const f = (v: number | null, d: number) => (v === null ? '–' : v.toFixed(d));
const digits = (m: string) => (m.endsWith('Psnr') ? 2 : 3);
/** Markdown table cells: a literal '|' would split the cell. */
const md = (s: string) => s.replace(/\|/g, '\\|');
const interval = (iv: Interval, d: number) => (iv.lo === null && iv.hi === null && iv.mean !== null ? `${f(iv.mean, d)} (no CI: n < ${MIN_CI_SAMPLES})` : `${f(iv.mean, d)} [${f(iv.lo, d)}, ${f(iv.hi, d)}]`);

/**
 * One metric as a markdown table: arms as rows, K as columns, each cell "mean [lo, hi]"; bold only
 * where the CI of the row's difference to the reference arm excludes 0.
 */
export function metricMarkdown(table: readonly ComparisonK[], metric: string, title: string): string {
  const arms = [...new Map(table.flatMap((t) => t.rows.map((r) => [r.arm, r] as const))).values()];
  const lines = [`**${title}**`, '', `| arm | ${table.map((t) => `K=${t.k}`).join(' | ')} |`, `|---|${table.map(() => '---:').join('|')}|`];
  for (const a of arms) {
    if (!table.some((t) => t.rows.find((r) => r.arm === a.arm)?.cells[metric])) continue;
    const cells = table.map((t) => {
      const c = t.rows.find((r) => r.arm === a.arm)?.cells[metric];
      if (!c) return '';
      const v = interval(c.value, digits(metric));
      return c.resolved ? `**${v}**` : v;
    });
    lines.push(`| ${md(a.label)}${a.seeds > 1 ? ` (${a.seeds} seeds)` : ''} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Markdown tables, one per K: arms as rows, each cell "mean [lo, hi]" and, beside the reference,
 * "Δ d [lo, hi]"; a cell is bold only where the CI of its difference excludes 0.
 */
export function comparisonMarkdown(table: readonly ComparisonK[], opts: { reference: string; metrics?: readonly string[]; level?: number; resamples?: number }): string {
  const metrics = (opts.metrics ?? COMPARED.map((c) => c.key)).filter((m) => table.some((t) => t.rows.some((r) => r.cells[m])));
  const title = (m: string) => COMPARED.find((c) => c.key === m)?.title ?? m;
  const lines: string[] = [];
  for (const t of table) {
    lines.push(`**K = ${t.k}** (${t.samples} samples; ${Math.round((opts.level ?? 0.95) * 100)} % paired bootstrap CIs over samples, ${opts.resamples ?? 2000} resamples; Δ = row − ${opts.reference}; **bold**: the CI of Δ excludes 0)`, '');
    lines.push(`| arm | ${metrics.map(title).join(' | ')} |`, `|---|${metrics.map(() => '---').join('|')}|`);
    for (const r of t.rows) {
      const cells = metrics.map((m) => {
        const c = r.cells[m];
        if (!c) return '';
        const d = digits(m);
        const v = interval(c.value, d);
        if (!c.diff) return v;
        const delta = `Δ ${interval(c.diff, d)}`;
        return c.resolved ? `**${v}; ${delta}**` : `${v}; ${delta}`;
      });
      lines.push(`| ${md(r.label)}${r.seeds > 1 ? ` (${r.seeds} seeds)` : ''} | ${cells.join(' | ')} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
