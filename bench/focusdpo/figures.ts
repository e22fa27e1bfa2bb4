/**
 * Pictures for the FocusDPO ablation (issue 14): implicit-accuracy and reward-margin curves of
 * every trained arm, and before/after sheets (base | post-trained, sampled with the same noise
 * because both come from graphs/mosaic-generate.json at the same seed). Pure: images and SVG text.
 */
import type { ImageValue } from 'tessera';
import { blit, canvas } from 'tessera/image';
import { smooth, type HistoryRow } from '../../plugins/train/lossCurve.ts';

export interface ArmCurves {
  label: string;
  /** One training history per seed. */
  runs: readonly (readonly HistoryRow[])[];
}

const COLORS = ['#e6194b', '#0082c8', '#3cb44b', '#f58231', '#911eb4', '#46f0f0', '#888888'];

/** Per step, the mean over seeds of each run's smoothed `key` (NaN where no seed logged it). */
export function seedMeanCurve(runs: readonly (readonly HistoryRow[])[], key: string, smoothing: number): { step: number; value: number }[] {
  const sums = new Map<number, { sum: number; n: number }>();
  for (const rows of runs) {
    const sm = smooth(rows.map((r) => (typeof r[key] === 'number' ? r[key]! : NaN)), smoothing);
    rows.forEach((r, i) => {
      if (!Number.isFinite(sm[i]!)) return;
      const s = sums.get(r.step) ?? { sum: 0, n: 0 };
      s.sum += sm[i]!;
      s.n += 1;
      sums.set(r.step, s);
    });
  }
  return [...sums].sort((a, b) => a[0] - b[0]).map(([step, s]) => ({ step, value: s.sum / s.n }));
}

/**
 * One SVG panel per key (implicit accuracy, reward margin): arms as lines, each the seed mean of
 * an exponential moving average (the per-step values are 4-pair batches, too noisy to read raw).
 */
export function curvesSvg(arms: readonly ArmCurves[], keys: readonly { key: string; title: string; reference?: number }[], smoothing = 0.95): string {
  const W = 560, H = 200, L = 60, R = 200;
  const parts: string[] = [];
  keys.forEach(({ key, title, reference }, p) => {
    const top = p * (H + 30);
    const series = arms.map((a) => seedMeanCurve(a.runs, key, smoothing));
    const all = series.flat();
    if (all.length < 2) return;
    const vals = [...all.map((x) => x.value), ...(reference === undefined ? [] : [reference])];
    const lo = Math.min(...vals);
    const hi = Math.max(...vals, lo + 1e-9);
    const s0 = Math.min(...all.map((x) => x.step));
    const s1 = Math.max(...all.map((x) => x.step), s0 + 1);
    const px = (s: number) => L + ((s - s0) / (s1 - s0)) * (W - L - R);
    const py = (v: number) => top + 24 + (1 - (v - lo) / (hi - lo)) * (H - 40);
    parts.push(
      `<text x="${L}" y="${top + 14}" font-size="12">${title} (seed mean of an EMA ${smoothing})</text>`,
      `<text x="${L - 4}" y="${py(hi) + 4}" font-size="10" text-anchor="end">${hi.toPrecision(3)}</text>`,
      `<text x="${L - 4}" y="${py(lo) + 4}" font-size="10" text-anchor="end">${lo.toPrecision(3)}</text>`,
      `<text x="${L}" y="${top + H + 6}" font-size="10">step ${s0} … ${s1}</text>`,
    );
    if (reference !== undefined) parts.push(`<line x1="${L}" x2="${W - R}" y1="${py(reference)}" y2="${py(reference)}" stroke="#bbb" stroke-dasharray="4 3"/>`);
    series.forEach((pts, i) => {
      const color = COLORS[i % COLORS.length]!;
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${pts.map((x) => `${px(x.step).toFixed(1)},${py(x.value).toFixed(1)}`).join(' ')}"/>`);
      parts.push(`<text x="${W - R + 8}" y="${top + 30 + i * 14}" font-size="11" fill="${color}">${arms[i]!.label} (${arms[i]!.runs.length} seeds)</text>`);
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${keys.length * (H + 30)}" font-family="sans-serif">${parts.join('')}</svg>\n`;
}

/** Two images side by side on white with a gap (before | after). */
export function sideBySide(left: ImageValue, right: ImageValue, gap = 12): ImageValue {
  const out = canvas(left.width + gap + right.width, Math.max(left.height, right.height));
  blit(out, left, 0, 0, 1);
  blit(out, right, left.width + gap, 0, 1);
  return out;
}
