import { SUBJECT_RADIUS } from './subject.ts';

/** 2-D affine map `[a, b, c, d, e, f]`: x' = a·x + b·y + c, y' = d·x + e·y + f. */
export type Affine = readonly [number, number, number, number, number, number];

/**
 * Pose of one subject in the target: centre and half-size in target pixels, rotation in degrees
 * (clockwise on screen, since y points down), and a horizontal mirror applied before rotating.
 * Values are quantised when sampled, so the stored numbers reproduce the rendering exactly.
 */
export interface Pose {
  readonly cx: number;
  readonly cy: number;
  readonly half: number;
  readonly rotationDeg: number;
  readonly flip: boolean;
}

/** Subject space → image pixels for a pose (subject radius 1 ↦ `half` pixels). */
export function subjectToImage(pose: Pose): Affine {
  const t = (pose.rotationDeg * Math.PI) / 180;
  const c = Math.cos(t) * pose.half;
  const s = Math.sin(t) * pose.half;
  const f = pose.flip ? -1 : 1;
  return [f * c, -s, pose.cx, f * s, c, pose.cy];
}

/** Inverse of an affine map; throws on a singular one. */
export function invert(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  if (Math.abs(det) < 1e-12) throw new Error('singular affine map');
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)];
}

/** a ∘ b: apply b, then a. */
export function compose(a: Affine, b: Affine): Affine {
  return [
    a[0] * b[0] + a[1] * b[3],
    a[0] * b[1] + a[1] * b[4],
    a[0] * b[2] + a[1] * b[5] + a[2],
    a[3] * b[0] + a[4] * b[3],
    a[3] * b[1] + a[4] * b[4],
    a[3] * b[2] + a[4] * b[5] + a[5],
  ];
}

/** Applies an affine map to a point. */
export function apply(m: Affine, x: number, y: number): [number, number] {
  return [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]];
}

/**
 * Canonical reference pose: subject centred on a `size`-pixel square, its radius-0.9 disk
 * filling `scale` of the width (MOSAIC pastes references at 0.9 on white).
 */
export function referencePose(size: number, scale: number): Pose {
  return { cx: size / 2, cy: size / 2, half: (size / 2) * (scale / SUBJECT_RADIUS), rotationDeg: 0, flip: false };
}

/** Reference pixel → target pixel map for a subject (through subject space). */
export function referenceToTarget(pose: Pose, refSize: number, refScale: number): Affine {
  return compose(subjectToImage(pose), invert(subjectToImage(referencePose(refSize, refScale))));
}

/**
 * A subject's pose relative to its reference: what a layout must tell a model besides the box
 * for the condition to determine the target. The reference is canonical (upright, unmirrored,
 * centred), so the relative rotation and mirror are the target pose's own; `scale` is target
 * pixels per reference pixel.
 */
export interface RelativePose {
  /** Degrees, clockwise on screen (y down), applied after the mirror. */
  readonly rotationDeg: number;
  /** Horizontal mirror, applied first. */
  readonly flip: boolean;
  readonly scale: number;
}

/** The pose of a subject relative to its `refSize`-pixel reference drawn at `refScale`. */
export function relativePose(pose: Pose, refSize: number, refScale: number): RelativePose {
  return { rotationDeg: pose.rotationDeg, flip: pose.flip, scale: pose.half / referencePose(refSize, refScale).half };
}

/** The target pose that a relative pose and a centre give (inverse of {@link relativePose}). */
export function poseFromRelative(rel: RelativePose, cx: number, cy: number, refSize: number, refScale: number): Pose {
  return { cx, cy, half: rel.scale * referencePose(refSize, refScale).half, rotationDeg: rel.rotationDeg, flip: rel.flip };
}
