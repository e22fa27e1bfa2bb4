import type { ImageValue } from 'tessera';
import { canvas, line, rect, SLOT_COLORS } from 'tessera/image';

/** One logged training step. */
export interface HistoryRow {
  step: number;
  loss: number;
  [metric: string]: number;
}

/** Exponential moving average of a series (for readable curves of noisy per-step losses). */
export function smooth(values: readonly number[], factor: number): number[] {
  const out: number[] = [];
  let m = NaN;
  for (const v of values) {
    if (!Number.isFinite(v)) {
      out.push(m);
      continue;
    }
    m = Number.isNaN(m) ? v : factor * m + (1 - factor) * v;
    out.push(m);
  }
  return out;
}

/** Series names of a history, loss first. */
export function seriesOf(rows: readonly HistoryRow[]): string[] {
  const names = new Set<string>(['loss']);
  for (const r of rows) for (const k of Object.keys(r)) if (k !== 'step') names.add(k);
  return [...names];
}

const PANEL_W = 360;
const PANEL_H = 90;
const PAD = 10;

/**
 * Loss curves as a PNG-ready image: one panel per series (each on its own y range, since the
 * terms differ in scale and sign), raw values faint, smoothed values solid. Numbers live in the
 * SVG and the JSON history; the raster has no text.
 */
export function lossCurveImage(rows: readonly HistoryRow[], smoothing = 0.9): ImageValue {
  const names = seriesOf(rows);
  const img = canvas(PANEL_W + 2 * PAD, names.length * (PANEL_H + PAD) + PAD, 255);
  const steps = rows.map((r) => r.step);
  const s0 = Math.min(...steps);
  const s1 = Math.max(...steps, s0 + 1);
  names.forEach((name, i) => {
    const y0 = PAD + i * (PANEL_H + PAD);
    rect(img, PAD - 1, y0 - 1, PANEL_W + 2, PANEL_H + 2, [180, 180, 180]);
    const raw = rows.map((r) => (typeof r[name] === 'number' ? r[name]! : NaN));
    const sm = smooth(raw, smoothing);
    const finite = raw.filter(Number.isFinite);
    if (finite.length < 2) return;
    const lo = Math.min(...finite);
    const hi = Math.max(...finite, lo + 1e-12);
    const color = SLOT_COLORS[i % SLOT_COLORS.length]!;
    const xy = (step: number, v: number) => [PAD + ((step - s0) / (s1 - s0)) * (PANEL_W - 1), y0 + (1 - (v - lo) / (hi - lo)) * (PANEL_H - 1)] as const;
    const draw = (vals: readonly number[], alpha: number) => {
      let prev: readonly [number, number] | null = null;
      vals.forEach((v, j) => {
        if (!Number.isFinite(v)) return;
        const p = xy(steps[j]!, v);
        if (prev) line(img, prev[0], prev[1], p[0], p[1], color, alpha);
        prev = p;
      });
    };
    draw(raw, 0.25);
    draw(sm, 1);
  });
  return img;
}

/** The same curves as SVG with titles and axis values. */
export function lossCurveSvg(rows: readonly HistoryRow[], smoothing = 0.9): string {
  const names = seriesOf(rows);
  const W = 520;
  const H = 130;
  const steps = rows.map((r) => r.step);
  const s0 = Math.min(...steps);
  const s1 = Math.max(...steps, s0 + 1);
  const parts: string[] = [];
  names.forEach((name, i) => {
    const top = i * (H + 20);
    const raw = rows.map((r) => (typeof r[name] === 'number' ? r[name]! : NaN));
    const sm = smooth(raw, smoothing);
    const finite = raw.filter(Number.isFinite);
    if (finite.length < 2) return;
    const lo = Math.min(...finite);
    const hi = Math.max(...finite, lo + 1e-12);
    const px = (s: number) => 60 + ((s - s0) / (s1 - s0)) * (W - 80);
    const py = (v: number) => top + 20 + (1 - (v - lo) / (hi - lo)) * (H - 30);
    const path = (vals: number[]) => vals.map((v, j) => (Number.isFinite(v) ? `${px(steps[j]!).toFixed(1)},${py(v).toFixed(1)}` : '')).filter(Boolean).join(' ');
    const [r, g, b] = SLOT_COLORS[i % SLOT_COLORS.length]!;
    parts.push(
      `<text x="60" y="${top + 14}" font-size="12">${name} (last ${sm[sm.length - 1]!.toPrecision(4)}, smoothed)</text>`,
      `<text x="55" y="${py(hi) + 4}" font-size="10" text-anchor="end">${hi.toPrecision(3)}</text>`,
      `<text x="55" y="${py(lo) + 4}" font-size="10" text-anchor="end">${lo.toPrecision(3)}</text>`,
      `<polyline fill="none" stroke="rgb(${r},${g},${b})" stroke-opacity="0.25" points="${path(raw)}"/>`,
      `<polyline fill="none" stroke="rgb(${r},${g},${b})" stroke-width="1.5" points="${path(sm)}"/>`,
    );
  });
  const height = names.length * (H + 20) + 20;
  parts.push(`<text x="60" y="${height - 4}" font-size="10">step ${s0} … ${s1}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" font-family="sans-serif">${parts.join('')}</svg>\n`;
}
