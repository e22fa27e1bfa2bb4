import type { Prng } from './prng.ts';
import type { Pose } from './geometry.ts';

/** Axis-aligned box `[x, y, w, h]` in target pixels. */
export type Box = readonly [number, number, number, number];

/** Layout options. */
export interface LayoutOptions {
  readonly size: number;
  readonly k: number;
  /** Largest |rotation| in degrees. */
  readonly maxRotationDeg: number;
  /** Probability of a horizontal mirror. */
  readonly flipProb: number;
}

/** One placed subject: its square box and the pose that draws it inside the box. */
export interface Placement {
  readonly box: Box;
  readonly pose: Pose;
}

const q = (x: number, step: number) => Math.round(x / step) * step;
const floorTo = (x: number, step: number) => Math.floor(x / step + 1e-9) * step;
const ceilTo = (x: number, step: number) => Math.ceil(x / step - 1e-9) * step;

/**
 * Places k subjects in non-overlapping square boxes: a jittered grid of cells, one subject per
 * randomly chosen cell, box side 70–100 % of the cell. A subject fills its box's inscribed
 * circle at most (radius SUBJECT_RADIUS·half), so any rotation keeps it inside, and disjoint boxes give
 * disjoint subjects by construction (no rejection sampling, so no failure case).
 */
export function sampleLayout(rng: Prng, opts: LayoutOptions): Placement[] {
  const { size, k } = opts;
  let cols = Math.ceil(Math.sqrt(k));
  let rows = Math.ceil(k / cols);
  if (rng.float() < 0.5) [cols, rows] = [rows, cols];
  const cw = size / cols;
  const ch = size / rows;
  const cells = rng.shuffle(Array.from({ length: cols * rows }, (_, i) => i)).slice(0, k);
  const lo = k === 1 ? 0.55 : 0.7;
  return cells.map((cell) => {
    const cxCell = (cell % cols) * cw;
    const cyCell = Math.floor(cell / cols) * ch;
    // Quantise to 1/16 px and 0.5°, so the annotation's numbers are exactly the rendered pose;
    // the usable cell is shrunk to the 1/16 grid first, so quantising never leaves the cell.
    const x0 = ceilTo(cxCell, 1 / 16);
    const y0 = ceilTo(cyCell, 1 / 16);
    const room = Math.min(floorTo(cxCell + cw, 1 / 16) - x0, floorTo(cyCell + ch, 1 / 16) - y0);
    const side = floorTo(room * (lo + (1 - lo) * rng.float()), 1 / 8);
    const x = x0 + floorTo((floorTo(cxCell + cw, 1 / 16) - x0 - side) * rng.float(), 1 / 16);
    const y = y0 + floorTo((floorTo(cyCell + ch, 1 / 16) - y0 - side) * rng.float(), 1 / 16);
    const rotationDeg = q((2 * rng.float() - 1) * opts.maxRotationDeg, 0.5);
    const flip = rng.float() < opts.flipProb;
    const pose: Pose = { cx: x + side / 2, cy: y + side / 2, half: side / 2, rotationDeg, flip };
    return { box: [x, y, side, side] as Box, pose };
  });
}

/**
 * Overlapping subjects: each box of a disjoint layout grows about its centre by a factor drawn
 * in [1, 1 + overlap] (side capped at the image), then moves back inside the image. Rotation and
 * mirror are kept; quantised like {@link sampleLayout}, so the stored numbers stay exact. Draws
 * from its own stream, so `overlap: 0` callers never consume it and keep today's layouts.
 */
export function growBoxes(rng: Prng, placed: readonly Placement[], size: number, overlap: number): Placement[] {
  return placed.map(({ box, pose }) => {
    const grow = 1 + overlap * rng.float();
    const side = Math.min(floorTo(size, 1 / 8), floorTo(box[2] * grow, 1 / 8));
    const cx = box[0] + box[2] / 2;
    const cy = box[1] + box[3] / 2;
    const x = Math.min(floorTo(size - side, 1 / 16), Math.max(0, floorTo(cx - side / 2, 1 / 16)));
    const y = Math.min(floorTo(size - side, 1 / 16), Math.max(0, floorTo(cy - side / 2, 1 / 16)));
    return { box: [x, y, side, side] as Box, pose: { ...pose, cx: x + side / 2, cy: y + side / 2, half: side / 2 } };
  });
}
