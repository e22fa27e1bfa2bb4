import pngjs from 'pngjs';
import { viridis } from '../image/colormap.ts';

const { PNG } = pngjs;

/** What the editor can show on a node for one output value. */
export type Preview =
  | { readonly kind: 'image'; readonly width: number; readonly height: number; readonly png: Buffer; readonly count?: number; readonly items?: readonly Buffer[] }
  | { readonly kind: 'heatmap'; readonly width: number; readonly height: number; readonly min: number; readonly max: number; readonly png: Buffer; readonly count?: number; readonly items?: readonly Buffer[] }
  | { readonly kind: 'plot'; readonly values: number[]; readonly length: number; readonly min: number; readonly max: number };

/** Largest side of a preview image; bigger images are downsampled so events stay small. */
export const PREVIEW_MAX_SIDE = 384;
/** Elements of a list previewed one by one (the editor's gallery); the rest are only counted. */
export const PREVIEW_MAX_ITEMS = 32;
const PLOT_POINTS = 400;

/**
 * Turns an output value into a preview, when it has a visual form: IMAGE values
 * (`{width, height, channels, data}`) become PNGs, 2-D numeric data (`number[][]`, or a tensor
 * `{shape: [h, w] | [1, h, w], data}`) a heatmap PNG, and 1-D numeric series (loss curves) a plot;
 * a list of images or 2-D tensors is shown by its first element (with `count`), and its first
 * {@link PREVIEW_MAX_ITEMS} elements are drawn as `items` too (for a gallery). Anything else
 * gives undefined.
 */
export function makePreview(value: unknown): Preview | undefined {
  if (!value || typeof value !== 'object') return undefined;
  if (isImage(value)) return imagePreview(value);
  const grid = asGrid(value);
  if (grid) return heatmapPreview(grid);
  const series = asSeries(value);
  if (series) return plotPreview(series);
  // A batch (list of images or 2-D tensors): the first element stands for it.
  if (Array.isArray(value) && value.length && value[0] && typeof value[0] === 'object' && !Array.isArray(value[0])) {
    const first = value[0] as object;
    const inner = isImage(first) ? imagePreview(first) : asGrid(first) ? heatmapPreview(asGrid(first)!) : undefined;
    if (inner && inner.kind !== 'plot') {
      const items: Buffer[] = [];
      for (const v of value.slice(0, PREVIEW_MAX_ITEMS)) {
        const p = v && typeof v === 'object' && !Array.isArray(v) ? (isImage(v) ? imagePreview(v) : asGrid(v) ? heatmapPreview(asGrid(v)!) : undefined) : undefined;
        if (!p || p.kind === 'plot') break; // a mixed list: the gallery stops at the first odd one
        items.push(p.png);
      }
      return { ...inner, count: value.length, ...(items.length > 1 ? { items } : {}) };
    }
  }
  return undefined;
}

interface ImageLike {
  width: number;
  height: number;
  channels?: number;
  data: ArrayLike<number>;
}

function isImage(v: object): v is ImageLike {
  const o = v as Record<string, unknown>;
  if (!Number.isInteger(o.width) || !Number.isInteger(o.height) || !ArrayBuffer.isView(o.data)) return false;
  const w = o.width as number;
  const h = o.height as number;
  const c = (o.channels as number | undefined) ?? 4;
  return w > 0 && h > 0 && [1, 3, 4].includes(c) && (o.data as unknown as ArrayLike<number>).length >= w * h * c;
}

/** Nearest-neighbour downsampling: enough for a thumbnail and keeps pixel art crisp. */
function scaledSize(width: number, height: number): [number, number] {
  const s = Math.min(1, PREVIEW_MAX_SIDE / Math.max(width, height));
  return [Math.max(1, Math.round(width * s)), Math.max(1, Math.round(height * s))];
}

function imagePreview(img: ImageLike): Preview {
  const channels = img.channels ?? 4;
  const [w, h] = scaledSize(img.width, img.height);
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    const sy = Math.min(img.height - 1, Math.floor((y * img.height) / h));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(img.width - 1, Math.floor((x * img.width) / w));
      const si = (sy * img.width + sx) * channels;
      const di = (y * w + x) * 4;
      const d = img.data;
      if (channels === 1) png.data[di] = png.data[di + 1] = png.data[di + 2] = d[si]!;
      else {
        png.data[di] = d[si]!;
        png.data[di + 1] = d[si + 1]!;
        png.data[di + 2] = d[si + 2]!;
      }
      png.data[di + 3] = channels === 4 ? d[si + 3]! : 255;
    }
  }
  return { kind: 'image', width: img.width, height: img.height, png: PNG.sync.write(png) };
}

interface Grid {
  width: number;
  height: number;
  at(x: number, y: number): number;
}

function asGrid(v: object): Grid | undefined {
  if (Array.isArray(v)) {
    if (v.length < 2 || !v.every((row) => Array.isArray(row))) return undefined;
    const width = (v[0] as unknown[]).length;
    if (width < 2 || !v.every((row: unknown[]) => row.length === width && row.every((x) => typeof x === 'number'))) return undefined;
    return { width, height: v.length, at: (x, y) => (v[y] as number[])[x]! };
  }
  const o = v as Record<string, unknown>;
  if (!Array.isArray(o.shape) || !(ArrayBuffer.isView(o.data) || Array.isArray(o.data))) return undefined;
  const shape = (o.shape as unknown[]).map(Number);
  const dims = shape.filter((d) => d !== 1);
  if (dims.length !== 2 || !dims.every((d) => Number.isInteger(d) && d >= 2)) return undefined;
  const [height, width] = dims as [number, number];
  const data = o.data as ArrayLike<number | bigint>;
  if (data.length < width * height || typeof data[0] !== 'number') return undefined;
  return { width, height, at: (x, y) => data[y * width + x] as number };
}

function heatmapPreview(grid: Grid): Preview {
  let min = Infinity;
  let max = -Infinity;
  for (let y = 0; y < grid.height; y++) {
    for (let x = 0; x < grid.width; x++) {
      const v = grid.at(x, y);
      if (Number.isFinite(v)) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
    }
  }
  if (!Number.isFinite(min)) min = max = 0;
  const [w, h] = scaledSize(grid.width, grid.height);
  const png = new PNG({ width: w, height: h });
  const span = max - min || 1;
  for (let y = 0; y < h; y++) {
    const sy = Math.min(grid.height - 1, Math.floor((y * grid.height) / h));
    for (let x = 0; x < w; x++) {
      const sx = Math.min(grid.width - 1, Math.floor((x * grid.width) / w));
      const v = grid.at(sx, sy);
      const [r, g, b] = Number.isFinite(v) ? viridis((v - min) / span) : [255, 0, 255];
      const di = (y * w + x) * 4;
      png.data[di] = r;
      png.data[di + 1] = g;
      png.data[di + 2] = b;
      png.data[di + 3] = 255;
    }
  }
  return { kind: 'heatmap', width: grid.width, height: grid.height, min, max, png: PNG.sync.write(png) };
}

function asSeries(v: object): ArrayLike<number> | undefined {
  if (Array.isArray(v)) return v.length >= 2 && v.every((x) => typeof x === 'number' && Number.isFinite(x)) ? (v as number[]) : undefined;
  if (v instanceof Float32Array || v instanceof Float64Array) return v.length >= 2 ? v : undefined;
  return undefined;
}

/** Keeps the curve's shape: each of at most PLOT_POINTS buckets reports its mean. */
function plotPreview(series: ArrayLike<number>): Preview {
  const n = series.length;
  const buckets = Math.min(n, PLOT_POINTS);
  const values: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const from = Math.floor((b * n) / buckets);
    const to = Math.max(from + 1, Math.floor(((b + 1) * n) / buckets));
    let s = 0;
    let k = 0;
    for (let i = from; i < to; i++) {
      if (Number.isFinite(series[i]!)) {
        s += series[i]!;
        k++;
      }
    }
    values.push(k ? s / k : NaN);
  }
  const finite = values.filter(Number.isFinite);
  return { kind: 'plot', values, length: n, min: finite.length ? Math.min(...finite) : 0, max: finite.length ? Math.max(...finite) : 0 };
}
