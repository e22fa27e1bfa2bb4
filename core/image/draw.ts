import type { ImageValue } from '../plugin/portTypes.ts';

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
