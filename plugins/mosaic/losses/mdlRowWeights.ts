import { Tensor } from 'tessera/kernels';
import type { SemAlignSample } from 'tessera/semalign';
import { checkBatch } from './checkBatch.ts';

/**
 * Which rows make reference k's attention distribution a^(k). `'tokens'` (public code): the
 * mean of all L rows. `'points'` (paper Eq. 12): the mean of the rows of its annotated
 * correspondence points, falling back to `'tokens'` when the reference has none.
 */
export type MdlMode = 'tokens' | 'points';

export interface MdlRowWeightOptions {
  readonly mode: MdlMode;
  /** L: patches per reference. */
  readonly refPatches: number;
  /** N: when given, the target grids are checked against it too. */
  readonly targetPatches?: number;
}

/**
 * Row-pooling weights R [B, K, K·L] (float32) so that a = R @ A gives each reference's
 * distribution over target patches. Why a matrix: pooling by a matmul keeps MDL one traced
 * graph for every batch (the weights are a feed) and both pooling variants share it.
 * Row k is 1/L on reference k's L rows (`'tokens'`), or 1/P(k) on its annotated rows
 * (`'points'`, with the `'tokens'` fallback for a reference without points).
 * Throws the same RangeErrors as {@link scalTargets} for bad batches.
 */
export function mdlRowWeights(samples: readonly SemAlignSample[], opts: MdlRowWeightOptions): Tensor<'float32'> {
  const L = opts.refPatches;
  const { k: K, pairs } = checkBatch(samples, L, opts.targetPatches);
  const B = samples.length;
  const KL = K * L;
  const out = Tensor.zeros([B, K, KL], 'float32');
  pairs.forEach((p, b) => {
    for (let k = 0; k < K; k++) {
      const base = (b * K + k) * KL + k * L;
      const points = p.slots[k]!.u;
      if (opts.mode === 'points' && points.length > 0) {
        for (const u of points) out.data[base + u] = 1 / points.length;
      } else {
        for (let u = 0; u < L; u++) out.data[base + u] = 1 / L;
      }
    }
  });
  return out;
}
