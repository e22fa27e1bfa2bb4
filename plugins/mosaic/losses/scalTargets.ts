import { Tensor } from 'tessera/kernels';
import type { SemAlignSample } from 'tessera/semalign';
import { checkBatch } from './checkBatch.ts';

/**
 * How SCAL averages the annotated pairs. `'reference'` (paper Eq. 10): mean over each
 * reference's P(k) pairs, then over the K_vis references that have at least one pair.
 * `'pairs'` (public code, `nll_loss` over pooled pairs): flat mean over all pairs of a sample.
 * The two agree when every visible reference has the same number of pairs.
 */
export type ScalMode = 'reference' | 'pairs';

export interface ScalTargetOptions {
  readonly mode: ScalMode;
  /** L: patches per reference (rows per reference in the map). */
  readonly refPatches: number;
  /** N: target patches (columns of the map). */
  readonly targetPatches: number;
}

/**
 * Pair weights W [B, K·L, N] (float32) such that SCAL = −Σ_{b,r,n} W·log(A + 1e-9): the paper's
 * or the code's averaging baked into a dense constant. Why dense weights instead of gathered
 * indices: the map is already dense, one multiply + sum has a trivial gradient, and the same
 * graph serves any batch (weights are a feed, not traced-in indices).
 *
 * Per sample: 1/(K_vis·P(k)) on each pair of reference k (`'reference'`) or 1/P_total
 * (`'pairs'`); then everything is divided by the number of samples with at least one pair, so
 * the loss is a mean over those samples and samples without pairs contribute zero.
 * Throws a RangeError (naming the sample) for mixed K, grids that do not match
 * `refPatches`/`targetPatches`, or target indices outside the grid.
 */
export function scalTargets(samples: readonly SemAlignSample[], opts: ScalTargetOptions): Tensor<'float32'> {
  const L = opts.refPatches;
  const N = opts.targetPatches;
  const { k: K, pairs } = checkBatch(samples, L, N);
  const B = samples.length;
  const out = Tensor.zeros([B, K * L, N], 'float32');
  const withPairs = pairs.filter((p) => p.total > 0).length;
  if (withPairs === 0) return out;
  pairs.forEach((p, b) => {
    if (p.total === 0) return;
    const kVis = p.slots.filter((s) => s.u.length > 0).length;
    p.slots.forEach((s, slot) => {
      if (s.u.length === 0) return;
      const w = (opts.mode === 'reference' ? 1 / (kVis * s.u.length) : 1 / p.total) / withPairs;
      s.u.forEach((u, j) => {
        // Several reference patches may map to one target patch, but each row holds at most one pair.
        out.data[(b * K * L + slot * L + u) * N + s.v[j]!] += w;
      });
    });
  });
  return out;
}
