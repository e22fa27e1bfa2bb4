import type { ImageValue } from 'tessera';
import type { SemAlignSample } from 'tessera/semalign';
import { blit, canvas, rect, SLOT_COLORS } from 'tessera/image';
import { overlayHeatmap } from './overlayHeatmap.ts';

/** Token grid sides of a correspondence map: N = grid², L = refGrid². */
export interface PanelGrids {
  /** Target tokens per side. */
  readonly grid: number;
  /** Reference tokens per side. */
  readonly refGrid: number;
}

/**
 * A heatmap panel for one sample's correspondence map [K·L, N]: per reference, the reference with
 * one annotated patch marked, that patch's attention over the target, and the reference's mean
 * attention over the target. Why grids rather than a model: the built-in and imported models
 * (whose grids come from their attention sites) draw the same panel.
 */
export function correspondencePanel(grids: PanelGrids, sample: SemAlignSample, map: Float32Array, scale = 3): ImageValue {
  const { grid, refGrid } = grids;
  const n = grid * grid;
  const l = refGrid * refGrid;
  const k = sample.refs.length;
  if (map.length !== k * l * n) throw new RangeError(`correspondencePanel: the map has ${map.length} values, expected K·L·N = ${k}·${l}·${n}`);
  const T = sample.target.width * scale;
  const R = sample.refs[0]!.width * scale;
  const gap = 6;
  const img = canvas(R + 2 * T + 4 * gap, k * (T + gap) + gap, 235);
  const r2t = sample.annotation.correspondence.refToTarget;
  for (let i = 0; i < k; i++) {
    const y = gap + i * (T + gap);
    blit(img, sample.refs[i]!, gap, y, scale);
    rect(img, gap - 1, y - 1, R + 2, R + 2, SLOT_COLORS[i]!);
    // The annotated patch nearest the middle of the reference's visible ones.
    const visible = r2t[i]!.map((v, u) => [u, v] as const).filter(([, v]) => v >= 0);
    const pick = visible[Math.floor(visible.length / 2)]?.[0] ?? Math.floor(l / 2);
    const row = map.subarray((i * l + pick) * n, (i * l + pick + 1) * n);
    const px = gap + (pick % refGrid) * (R / refGrid);
    const py = y + Math.floor(pick / refGrid) * (R / refGrid);
    rect(img, px, py, R / refGrid, R / refGrid, [0, 0, 0]);
    const mean = new Float32Array(n);
    for (let u = 0; u < l; u++) for (let v = 0; v < n; v++) mean[v]! += map[(i * l + u) * n + v]! / l;
    blit(img, overlayHeatmap(sample.target, row, grid, grid, 0.65), 2 * gap + R, y, scale);
    blit(img, overlayHeatmap(sample.target, mean, grid, grid, 0.65), 3 * gap + R + T, y, scale);
  }
  return img;
}
