import type { ImageValue } from 'tessera';
import { SLOT_COLORS, canvas, blit, line, rect, dot } from 'tessera/image';
import type { SemAlignSample } from './sample.ts';

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
    // Any pair (DIP, or a preference pair made elsewhere with loser + mask); the DIP slot's box when known.
    if (opts.dip && smp.loser && smp.dipMask) {
      const lx = tx + a.target.width * s + GAP;
      blit(img, smp.loser, lx, ty, s);
      if (a.dip) {
        const [bx, by, bw, bh] = a.subjects[a.dip.slot]!.box;
        rect(img, lx + Math.round(bx * s), ty + Math.round(by * s), Math.round(bw * s), Math.round(bh * s), SLOT_COLORS[a.dip.slot]!);
      }
      blit(img, smp.dipMask, lx + a.target.width * s + GAP, ty, s);
    }
    y0 += row.h + GAP;
  }
  return img;
}
