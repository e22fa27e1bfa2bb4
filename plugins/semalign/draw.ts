import type { ImageValue } from 'tessera';
import type { SemAlignSample } from './sample.ts';

/** Distinct slot colors for overlays (slot i → SLOT_COLORS[i]). */
export const SLOT_COLORS: readonly (readonly [number, number, number])[] = [
  [230, 25, 75],
  [60, 180, 75],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
  [128, 128, 0],
];

/** A blank RGB canvas. */
export function canvas(width: number, height: number, fill = 255): ImageValue {
  return { width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(fill) };
}

/** Copies `src` (gray or RGB) into `dst` at (x, y), scaled up `s`× by pixel repetition. */
export function blit(dst: ImageValue, src: ImageValue, x: number, y: number, s: number): void {
  for (let sy = 0; sy < src.height * s; sy++) {
    const ty = y + sy;
    if (ty < 0 || ty >= dst.height) continue;
    for (let sx = 0; sx < src.width * s; sx++) {
      const tx = x + sx;
      if (tx < 0 || tx >= dst.width) continue;
      const sp = (Math.floor(sy / s) * src.width + Math.floor(sx / s)) * src.channels;
      const tp = (ty * dst.width + tx) * 3;
      for (let c = 0; c < 3; c++) dst.data[tp + c] = src.data[sp + (src.channels === 1 ? 0 : c)]!;
    }
  }
}

/** Alpha-blends one pixel. */
function plot(img: ImageValue, x: number, y: number, rgb: readonly number[], alpha: number): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const p = (y * img.width + x) * 3;
  for (let c = 0; c < 3; c++) img.data[p + c] = Math.round(img.data[p + c]! * (1 - alpha) + rgb[c]! * alpha);
}

/** A straight line (DDA, one sample per major-axis pixel). */
export function line(img: ImageValue, x0: number, y0: number, x1: number, y1: number, rgb: readonly number[], alpha = 1): void {
  const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
  for (let i = 0; i <= n; i++) plot(img, Math.round(x0 + ((x1 - x0) * i) / n), Math.round(y0 + ((y1 - y0) * i) / n), rgb, alpha);
}

/** A rectangle outline. */
export function rect(img: ImageValue, x: number, y: number, w: number, h: number, rgb: readonly number[]): void {
  line(img, x, y, x + w - 1, y, rgb);
  line(img, x, y + h - 1, x + w - 1, y + h - 1, rgb);
  line(img, x, y, x, y + h - 1, rgb);
  line(img, x + w - 1, y, x + w - 1, y + h - 1, rgb);
}

/** A filled disk. */
export function dot(img: ImageValue, cx: number, cy: number, r: number, rgb: readonly number[]): void {
  for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++) {
    for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) plot(img, x, y, rgb, 1);
  }
}

/** Contact-sheet options. */
export interface SheetOptions {
  /** Upscale factor of the target (references are drawn at the same pixel scale). */
  readonly scale: number;
  /** Correspondence lines per subject (evenly spread over its visible reference patches). */
  readonly lines: number;
  /** Also draw the DIP loser and its mask. */
  readonly dip: boolean;
}

const GAP = 8;

/**
 * Contact sheet, one row per sample: references (2 columns, each framed in its slot color) |
 * target with slot-colored boxes | DIP loser | DIP mask. Lines join reference patch centres to
 * the target patch centres they correspond to (from refToTarget).
 */
export function contactSheet(samples: readonly SemAlignSample[], opts: SheetOptions): ImageValue {
  const s = opts.scale;
  const rows = samples.map((smp) => {
    const a = smp.annotation;
    const R = smp.refs[0]!.width;
    const refCols = a.k > 1 ? 2 : 1;
    const refRows = Math.ceil(a.k / refCols);
    const refW = refCols * (R * s + GAP);
    const h = Math.max(a.target.height * s, refRows * (R * s + GAP));
    const w = refW + GAP * 3 + a.target.width * s + (opts.dip && smp.loser ? 2 * (a.target.width * s + GAP) : 0);
    return { smp, R, refCols, refW, h, w };
  });
  const W = Math.max(...rows.map((r) => r.w)) + 2 * GAP;
  const H = rows.reduce((t, r) => t + r.h + GAP, GAP);
  const img = canvas(W, H, 235);
  let y0 = GAP;
  for (const row of rows) {
    const { smp, R, refCols, refW } = row;
    const a = smp.annotation;
    const c = a.correspondence;
    const tx = GAP + refW + GAP * 2;
    const ty = y0;
    blit(img, smp.target, tx, ty, s);
    const refPos = smp.refs.map((ref, i) => {
      const x = GAP + (i % refCols) * (R * s + GAP);
      const y = y0 + Math.floor(i / refCols) * (R * s + GAP);
      blit(img, ref, x, y, s);
      rect(img, x - 1, y - 1, R * s + 2, R * s + 2, SLOT_COLORS[i]!);
      return [x, y] as const;
    });
    a.subjects.forEach((sub, i) => {
      const [bx, by, bw, bh] = sub.box;
      rect(img, tx + Math.round(bx * s), ty + Math.round(by * s), Math.round(bw * s), Math.round(bh * s), SLOT_COLORS[i]!);
      const visible = c.refToTarget[i]!.map((v, u) => [u, v] as const).filter(([, v]) => v >= 0);
      const pick = opts.lines <= 0 ? [] : visible.filter((_, j) => visible.length <= opts.lines || j % Math.ceil(visible.length / opts.lines) === 0);
      for (const [u, v] of pick) {
        const [rx, ry] = refPos[i]!;
        const ux = rx + ((u % c.refGrid[0]) + 0.5) * c.refPatchSize * s;
        const uy = ry + (Math.floor(u / c.refGrid[0]) + 0.5) * c.refPatchSize * s;
        const vx = tx + ((v % c.targetGrid[0]) + 0.5) * c.patchSize * s;
        const vy = ty + (Math.floor(v / c.targetGrid[0]) + 0.5) * c.patchSize * s;
        line(img, ux, uy, vx, vy, SLOT_COLORS[i]!, 0.85);
        dot(img, ux, uy, 2, SLOT_COLORS[i]!);
        dot(img, vx, vy, 2, SLOT_COLORS[i]!);
      }
    });
    if (opts.dip && smp.loser && smp.dipMask && a.dip) {
      const lx = tx + a.target.width * s + GAP;
      blit(img, smp.loser, lx, ty, s);
      const [bx, by, bw, bh] = a.subjects[a.dip.slot]!.box;
      rect(img, lx + Math.round(bx * s), ty + Math.round(by * s), Math.round(bw * s), Math.round(bh * s), SLOT_COLORS[a.dip.slot]!);
      blit(img, smp.dipMask, lx + a.target.width * s + GAP, ty, s);
    }
    y0 += row.h + GAP;
  }
  return img;
}
