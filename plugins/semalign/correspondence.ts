import { type Affine, invert } from './geometry.ts';

/** Dense patch correspondences of one sample (the annotation's `correspondence` block). */
export interface Correspondence {
  /** Target patch size in pixels; the target grid is `targetGrid` = [cols, rows]. */
  readonly patchSize: number;
  readonly targetGrid: readonly [number, number];
  /** Reference patch size in pixels; each reference grid is `refGrid` = [cols, rows]. */
  readonly refPatchSize: number;
  readonly refGrid: readonly [number, number];
  /** Per target patch (row-major): owning slot, or −1 (background / no majority). */
  readonly owner: number[];
  /** Per target patch: index of the reference patch it shows in its owner's reference, or −1. */
  readonly refPatch: number[];
  /** Per target patch: exact reference-pixel coordinates [x, y] of the patch centre (or −1, −1). */
  readonly refPoint: number[];
  /**
   * Per slot, per reference patch: the target patch showing it, or −1 when the reference patch
   * is not visible (off-subject in the reference, or lands on a patch the subject doesn't own).
   * This is MOSAIC's {ref token → tgt token} map.
   */
  readonly refToTarget: number[][];
}

/** Inputs for {@link computeCorrespondence}. */
export interface CorrespondenceInput {
  readonly targetWidth: number;
  readonly targetHeight: number;
  readonly refSize: number;
  readonly patchSize: number;
  readonly refPatchSize: number;
  /** Target label map: slot+1 per pixel, 0 = background. */
  readonly label: Uint8Array;
  /** Per slot: reference coverage mask (1 = subject) and the reference→target affine map. */
  readonly refs: readonly { readonly mask: Uint8Array; readonly refToTarget: Affine }[];
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Exact, dense correspondences. A target patch is owned by the slot holding a strict majority
 * of its pixels in the label map (so ownership is disjoint by construction); its reference patch
 * is where its centre maps under the exact inverse pose. A reference patch is visible when a
 * majority of it is subject in the reference and its centre maps into a patch its slot owns.
 */
export function computeCorrespondence(input: CorrespondenceInput): Correspondence {
  const { targetWidth: W, targetHeight: H, refSize: R, patchSize: P, refPatchSize: Q, label } = input;
  if (W % P !== 0 || H % P !== 0) throw new RangeError(`patchSize ${P} must divide the target size ${W}×${H}`);
  if (R % Q !== 0) throw new RangeError(`refPatchSize ${Q} must divide the reference size ${R}`);
  const gw = W / P;
  const gh = H / P;
  const rg = R / Q;
  const n = gw * gh;
  const owner = new Array<number>(n).fill(-1);
  const refPatch = new Array<number>(n).fill(-1);
  const refPoint = new Array<number>(2 * n).fill(-1);
  const counts = new Int32Array(input.refs.length + 1);
  const inverses = input.refs.map((r) => invert(r.refToTarget));
  for (let gy = 0; gy < gh; gy++) {
    for (let gx = 0; gx < gw; gx++) {
      counts.fill(0);
      for (let y = gy * P; y < (gy + 1) * P; y++) for (let x = gx * P; x < (gx + 1) * P; x++) counts[label[y * W + x]!]!++;
      let best = -1;
      for (let s = 1; s < counts.length; s++) if (counts[s]! * 2 > P * P) best = s - 1;
      if (best < 0) continue;
      const m = inverses[best]!;
      const cx = (gx + 0.5) * P;
      const cy = (gy + 0.5) * P;
      // Rounded first, so the stored point and the stored patch index always agree.
      const qx = round2(m[0] * cx + m[1] * cy + m[2]);
      const qy = round2(m[3] * cx + m[4] * cy + m[5]);
      // A patch whose centre maps outside the reference has no patch to show: leave it unowned.
      if (qx < 0 || qy < 0 || qx >= R || qy >= R) continue;
      const v = gy * gw + gx;
      owner[v] = best;
      refPatch[v] = Math.floor(qy / Q) * rg + Math.floor(qx / Q);
      refPoint[2 * v] = qx;
      refPoint[2 * v + 1] = qy;
    }
  }
  const refToTarget = input.refs.map((ref, slot) => {
    const map = new Array<number>(rg * rg).fill(-1);
    const m = ref.refToTarget;
    for (let uy = 0; uy < rg; uy++) {
      for (let ux = 0; ux < rg; ux++) {
        let on = 0;
        for (let y = uy * Q; y < (uy + 1) * Q; y++) for (let x = ux * Q; x < (ux + 1) * Q; x++) on += ref.mask[y * R + x]!;
        if (on * 2 <= Q * Q) continue;
        const cx = (ux + 0.5) * Q;
        const cy = (uy + 0.5) * Q;
        const px = m[0] * cx + m[1] * cy + m[2];
        const py = m[3] * cx + m[4] * cy + m[5];
        const tx = Math.floor(px / P);
        const ty = Math.floor(py / P);
        if (tx < 0 || ty < 0 || tx >= gw || ty >= gh) continue;
        const v = ty * gw + tx;
        if (owner[v] === slot) map[uy * rg + ux] = v;
      }
    }
    return map;
  });
  return { patchSize: P, targetGrid: [gw, gh], refPatchSize: Q, refGrid: [rg, rg], owner, refPatch, refPoint, refToTarget };
}
