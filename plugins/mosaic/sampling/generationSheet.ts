import type { ImageValue } from 'tessera';
import { blit, canvas, dot, rect, SLOT_COLORS } from 'tessera/image';
import type { AttentionMaps, SemAlignSample } from 'tessera/semalign';
import { overlayHeatmap } from '../plots/overlayHeatmap.ts';

export interface GenerationSheetOptions {
  /** Integer pixel upscale factor (default 3). */
  readonly scale?: number;
  /** Also draw the ground-truth target next to the generation (default true). */
  readonly groundTruth?: boolean;
  /**
   * Correspondence maps [K·L, N] per sample (as eulerSample returns them): adds heatmap tiles
   * over the generated image: one reference patch's attention (marked with a dot on reference
   * 0), then each reference's mean map, framed in its slot color.
   */
  readonly maps?: readonly AttentionMaps[];
  /** Which patch of reference 0 the single-patch heatmap shows (default: the centre patch). */
  readonly refPatch?: number;
  /** Heatmap opacity over the image (default 0.6). */
  readonly alpha?: number;
}

const GAP = 8;

function boxes(img: ImageValue, smp: SemAlignSample, x: number, y: number, s: number): void {
  for (const sub of smp.annotation.subjects) {
    const [bx, by, bw, bh] = sub.box;
    rect(img, x + Math.round(bx * s), y + Math.round(by * s), Math.max(1, Math.round(bw * s)), Math.max(1, Math.round(bh * s)), SLOT_COLORS[sub.slot % SLOT_COLORS.length]!);
  }
}

/**
 * Contact sheet of generations, one row per sample: references (2 columns, framed in their slot
 * colors) | generated image with slot-colored subject boxes | ground-truth target (optional) |
 * heatmaps over the generation (with `maps`): one reference patch's attention, then each
 * reference's mean attention.
 *
 * @example
 * const sheet = generationSheet(samples.slice(0, 8), images.slice(0, 8), { scale: 3, maps });
 */
export function generationSheet(samples: readonly SemAlignSample[], images: readonly ImageValue[], opts: GenerationSheetOptions = {}): ImageValue {
  const s = opts.scale ?? 3;
  if (!Number.isInteger(s) || s < 1) throw new RangeError(`generationSheet: scale must be a positive integer, got ${s}`);
  if (samples.length === 0) throw new RangeError('generationSheet: no samples to draw');
  if (images.length !== samples.length) throw new RangeError(`generationSheet: ${images.length} images for ${samples.length} samples`);
  const maps = opts.maps;
  if (maps && maps.length !== samples.length) throw new RangeError(`generationSheet: ${maps.length} maps for ${samples.length} samples`);
  const gt = opts.groundTruth ?? true;
  const alpha = opts.alpha ?? 0.6;

  const rows = samples.map((smp, i) => {
    const R = smp.refs[0]!.width;
    const k = smp.refs.length;
    const refCols = k > 1 ? 2 : 1;
    const refRows = Math.ceil(k / refCols);
    const refW = refCols * (R * s + GAP);
    const T = images[i]!.width * s;
    const tiles = 1 + (gt ? 1 : 0) + (maps ? 1 + k : 0);
    const h = Math.max(images[i]!.height * s, refRows * (R * s + GAP));
    return { smp, R, k, refCols, refW, T, tiles, h, w: refW + GAP * 2 + tiles * (T + GAP) };
  });
  const W = Math.max(...rows.map((r) => r.w)) + 2 * GAP;
  const H = rows.reduce((t, r) => t + r.h + GAP, GAP);
  const img = canvas(W, H, 235);
  let y0 = GAP;
  rows.forEach((row, i) => {
    const { smp, R, k, refCols, refW, T } = row;
    const gen = images[i]!;
    const refPos = smp.refs.map((ref, j) => {
      const x = GAP + (j % refCols) * (R * s + GAP);
      const y = y0 + Math.floor(j / refCols) * (R * s + GAP);
      blit(img, ref, x, y, s);
      rect(img, x - 1, y - 1, R * s + 2, R * s + 2, SLOT_COLORS[j % SLOT_COLORS.length]!);
      return [x, y] as const;
    });
    let x = GAP + refW + GAP;
    blit(img, gen, x, y0, s);
    boxes(img, smp, x, y0, s);
    x += T + GAP;
    if (gt) {
      blit(img, smp.target, x, y0, s);
      boxes(img, smp, x, y0, s);
      x += T + GAP;
    }
    const m = maps?.[i];
    if (m) {
      const [rowsKL, n] = m.shape as [number, number];
      const l = rowsKL / k;
      const grid = Math.round(Math.sqrt(n));
      const refGrid = Math.round(Math.sqrt(l));
      if (!Number.isInteger(l) || grid * grid !== n || refGrid * refGrid !== l || m.data.length !== rowsKL * n) {
        throw new RangeError(`generationSheet: map ${i} has shape [${m.shape.join(', ')}], expected [K·L, N] with K = ${k} and square grids`);
      }
      const u = opts.refPatch ?? Math.floor(refGrid / 2) * refGrid + Math.floor(refGrid / 2);
      if (!Number.isInteger(u) || u < 0 || u >= l) throw new RangeError(`generationSheet: refPatch ${u} is outside 0…${l - 1}`);
      const tile = (values: Float32Array, color: readonly number[]) => {
        blit(img, overlayHeatmap(gen, values, grid, grid, alpha), x, y0, s);
        rect(img, x - 1, y0 - 1, T + 2, T + 2, color);
        x += T + GAP;
      };
      // One reference patch: its row, and a dot where it sits on reference 0.
      tile(m.data.subarray(u * n, (u + 1) * n), [255, 255, 255]);
      const patchPx = (R / refGrid) * s;
      const [rx, ry] = refPos[0]!;
      dot(img, rx + ((u % refGrid) + 0.5) * patchPx, ry + (Math.floor(u / refGrid) + 0.5) * patchPx, Math.max(2, s), [255, 255, 255]);
      // Each reference's mean map.
      for (let j = 0; j < k; j++) {
        const mean = new Float32Array(n);
        for (let r = j * l; r < (j + 1) * l; r++) for (let c = 0; c < n; c++) mean[c]! += m.data[r * n + c]! / l;
        tile(mean, SLOT_COLORS[j % SLOT_COLORS.length]!);
      }
    }
    y0 += row.h + GAP;
  });
  return img;
}
