import type { SampleMetrics } from './evaluate.ts';

/** Per-sample scalar columns, in table order. */
export const SAMPLE_COLUMNS = ['identityPsnr', 'subjectSsim', 'edgeCorr', 'descriptorCos', 'retrievalAcc', 'retrievalChance', 'colorLeak', 'textureLeak', 'backgroundPsnr', 'imagePsnr', 'imageMae'] as const;

/** One row of the per-K table. */
export interface KRow {
  readonly k: number;
  readonly samples: number;
  readonly subjects: number;
  /**
   * Retrieval chance level as measured: E[1/|C_k|] pooled over the subjects that have a
   * prediction (C_k = candidates left by the retrieval's filter); null when none has one.
   */
  readonly chance: number | null;
  /** Means over samples (null-valued entries excluded); retrievalAcc is pooled over subjects. */
  readonly means: Readonly<Record<string, number | null>>;
  /** Summed confusion matrix, [true slot][predicted slot]. */
  readonly confusion: number[][];
}

/** Aggregates per-sample metrics by K (ascending). */
export function aggregateByK(rows: readonly SampleMetrics[]): KRow[] {
  const byK = new Map<number, SampleMetrics[]>();
  for (const r of rows) byK.set(r.k, [...(byK.get(r.k) ?? []), r]);
  return [...byK.keys()].sort((a, b) => a - b).map((k) => {
    const group = byK.get(k)!;
    const means: Record<string, number | null> = {};
    const cols = [...SAMPLE_COLUMNS, ...new Set(group.flatMap((g) => Object.keys(g.pck))), ...new Set(group.flatMap((g) => Object.keys(g.teacherPck ?? {}).map((r) => `tf:${r}`)))];
    for (const c of cols) {
      const vals = group.map((g) => (c.startsWith('pck@') ? g.pck[c] : c.startsWith('tf:') ? g.teacherPck?.[c.slice(3)] : (g as unknown as Record<string, number | null>)[c])).filter((v): v is number => typeof v === 'number');
      means[c] = vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
    }
    const subjects = group.flatMap((g) => g.subjects.filter((s) => s.correct !== null));
    means.retrievalAcc = subjects.length ? subjects.filter((s) => s.correct).length / subjects.length : null;
    means.retrievalChance = subjects.length ? subjects.reduce((a, s) => a + 1 / s.candidates, 0) / subjects.length : null;
    const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    for (const g of group) g.confusion.forEach((row, i) => row.forEach((v, j) => (confusion[i]![j]! += v)));
    return { k, samples: group.length, subjects: subjects.length, chance: means.retrievalChance, means, confusion };
  });
}

const cell = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(6);
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** CSV text (RFC 4180, header row, empty cell = not applicable). */
export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [header.join(','), ...rows.map((r) => r.map(cell).join(','))].join('\n') + '\n';
}

/** Per-sample table: id, k, every scalar metric, then PCK columns. */
export function sampleTable(rows: readonly SampleMetrics[]): { header: string[]; rows: unknown[][] } {
  const pcks = [...new Set(rows.flatMap((r) => Object.keys(r.pck)))];
  const tf = [...new Set(rows.flatMap((r) => Object.keys(r.teacherPck ?? {})))];
  const header = ['id', 'k', ...SAMPLE_COLUMNS, ...pcks, ...tf.map((p) => `tf:${p}`)];
  return {
    header,
    rows: rows.map((r) => [r.id, r.k, ...SAMPLE_COLUMNS.map((c) => r[c]), ...pcks.map((p) => r.pck[p] ?? null), ...tf.map((p) => r.teacherPck?.[p] ?? null)]),
  };
}

/** Per-subject table. */
export function subjectTable(rows: readonly SampleMetrics[]): { header: string[]; rows: unknown[][] } {
  const header = ['id', 'k', 'slot', 'identity', 'pixels', 'psnr', 'ssim', 'edgeCorr', 'descriptorCos', 'predicted', 'correct', 'candidates', 'colorLeak', 'textureLeak'];
  return {
    header,
    rows: rows.flatMap((r) =>
      r.subjects.map((s) => [r.id, r.k, s.slot, s.identity, s.pixels, s.psnr, s.ssim, s.edgeCorr, s.descriptorCos, s.predicted, s.correct === null ? null : s.correct ? 1 : 0, s.candidates, s.colorLeak, s.textureLeak]),
    ),
  };
}

/** Per-K table. */
export function kTable(rows: readonly KRow[]): { header: string[]; rows: unknown[][] } {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r.means)))];
  return { header: ['k', 'samples', 'subjects', 'chance', ...cols], rows: rows.map((r) => [r.k, r.samples, r.subjects, r.chance, ...cols.map((c) => r.means[c])]) };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Math.round(v / step) * step);
  return out;
}

/**
 * A small self-contained SVG line chart of one metric against K; `reference` draws a dashed
 * second series (e.g. retrieval chance 1/K).
 */
export function plotSvg(title: string, points: readonly { k: number; value: number | null }[], reference?: { label: string; points: readonly { k: number; value: number | null }[] }): string {
  const W = 480;
  const H = 300;
  const m = { l: 56, r: 16, t: 36, b: 44 };
  const ks = points.map((p) => p.k);
  const vals = [...points.map((p) => p.value), ...(reference?.points.map((p) => p.value) ?? [])].filter((v): v is number => v !== null);
  let lo = Math.min(0, ...vals);
  let hi = Math.max(...vals, lo + 1e-6);
  if (hi - lo < 1e-9) hi = lo + 1;
  const pad = (hi - lo) * 0.05;
  lo = lo < 0 ? lo - pad : lo;
  hi += pad;
  const kMin = Math.min(...ks, 1);
  const kMax = Math.max(...ks, kMin + 1);
  const x = (k: number) => m.l + ((k - kMin) / (kMax - kMin)) * (W - m.l - m.r);
  const y = (v: number) => H - m.b - ((v - lo) / (hi - lo)) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 8}" text-anchor="middle">K (subjects)</text>`,
  ];
  for (let k = kMin; k <= kMax; k++) parts.push(`<text x="${x(k)}" y="${H - m.b + 16}" text-anchor="middle">${k}</text>`);
  for (const t of niceTicks(lo, hi)) {
    parts.push(`<line x1="${m.l}" y1="${y(t)}" x2="${W - m.r}" y2="${y(t)}" stroke="#ddd"/>`, `<text x="${m.l - 6}" y="${y(t) + 4}" text-anchor="end">${+t.toPrecision(4)}</text>`);
  }
  const line = (pts: readonly { k: number; value: number | null }[], style: string) => {
    const ok = pts.filter((p): p is { k: number; value: number } => p.value !== null);
    if (ok.length) parts.push(`<polyline fill="none" ${style} points="${ok.map((p) => `${x(p.k).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ')}"/>`);
    return ok;
  };
  if (reference) {
    line(reference.points, 'stroke="#888" stroke-dasharray="5,4"');
    parts.push(`<text x="${W - m.r}" y="${m.t - 4}" text-anchor="end" fill="#888">- - ${esc(reference.label)}</text>`);
  }
  for (const p of line(points, 'stroke="#1f6feb" stroke-width="2"')) parts.push(`<circle cx="${x(p.k).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="3" fill="#1f6feb"/>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
