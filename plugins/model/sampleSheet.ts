import type { ImageValue } from 'tessera';
import { SLOT_COLORS, blit, canvas, rect } from 'tessera/image';

export interface SheetRow {
  /** Reference images (framed in their slot colours), possibly none. */
  readonly refs: readonly ImageValue[];
  readonly generated: ImageValue;
  /** The sample's target (or the listed image), drawn after the generation. */
  readonly target?: ImageValue;
}

const GAP = 6;

/**
 * A contact sheet of an imported model's generations, one row per item: references | generated |
 * target. Every image is drawn on a square tile of `scale` × the largest generated/target side,
 * blown up by whole-pixel repetition (a 16×16 generation next to its 64×64 target shows at the
 * target's size); columns line up across rows.
 */
export function sampleSheet(rows: readonly SheetRow[], scale: number): ImageValue {
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`model/Sample: sheet scale must be a positive integer, got ${scale}`);
  if (!rows.length) throw new RangeError('model/Sample: no rows to draw');
  const tile = scale * Math.max(...rows.flatMap((r) => [r.generated.width, r.generated.height, r.target?.width ?? 0, r.target?.height ?? 0]));
  const refCols = Math.max(...rows.map((r) => r.refs.length));
  const hasTarget = rows.some((r) => r.target);
  const cols = refCols + 1 + (hasTarget ? 1 : 0);
  const img = canvas(GAP + cols * (tile + GAP) + (refCols ? GAP : 0), GAP + rows.length * (tile + GAP), 235);
  const draw = (im: ImageValue, x: number, y: number) => blit(img, im, x, y, Math.max(1, Math.floor(tile / Math.max(im.width, im.height))));
  rows.forEach((row, i) => {
    const y = GAP + i * (tile + GAP);
    row.refs.forEach((ref, j) => {
      const x = GAP + j * (tile + GAP);
      draw(ref, x, y);
      rect(img, x - 1, y - 1, tile + 2, tile + 2, SLOT_COLORS[j % SLOT_COLORS.length]!);
    });
    // A gap more after the references sets them apart from the generation.
    const x = GAP + refCols * (tile + GAP) + (refCols ? GAP : 0);
    draw(row.generated, x, y);
    if (row.target) draw(row.target, x + tile + GAP, y);
  });
  return img;
}
