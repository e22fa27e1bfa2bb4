import { jsDivergence, ops as o, symmetricKL, Tensor, TraceError, type Sym } from 'tessera/kernels';

/** `'jsd'`: Jensen–Shannon (public code; bounded by ln 2). `'skl'`: symmetric KL (paper Eq. 13; unbounded). */
export type MdlDistance = 'jsd' | 'skl';

export interface MdlLossOptions {
  readonly distance: MdlDistance;
  /** Log floor inside the divergences (public code: 1e-8). */
  readonly eps?: number;
}

/** Unordered reference pairs i < j of K references, as two index lists. */
export function referencePairs(k: number): { i: number[]; j: number[] } {
  const i: number[] = [];
  const j: number[] = [];
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) {
      i.push(a);
      j.push(b);
    }
  }
  return { i, j };
}

/**
 * Multi-Reference Disentanglement Loss: a = rowWeights @ map ([B, K, N]), renormalised to sum
 * 1 per reference; loss = −mean over unordered pairs i < j and over the batch of dist(a_i, a_j).
 * Why negative: MDL *maximises* the divergence between where different references attend, so
 * two subjects do not claim the same target region. The ordered-pair mean of the paper equals
 * the unordered one for these symmetric distances.
 * Throws a TraceError when K < 2 (there is no pair; callers skip MDL for single references).
 *
 * @example
 * const loss = mdlLoss(map, g.input('mdlRows', [B, K, K * L]), { distance: 'jsd' });
 */
export function mdlLoss(map: Sym, rowWeights: Sym | Tensor, opts: MdlLossOptions): Sym {
  const rw = rowWeights instanceof Tensor ? map.graph.constant(rowWeights) : rowWeights;
  if (map.rank !== 3) throw new TraceError('mdlLoss', `map must be [B, K·L, N], got ${map}`);
  if (rw.rank !== 3 || rw.shape[0] !== map.shape[0] || rw.shape[2] !== map.shape[1]) {
    throw new TraceError('mdlLoss', `rowWeights ${rw} must be [B, K, K·L] for map ${map}`);
  }
  const K = rw.shape[1]!;
  if (K < 2) throw new TraceError('mdlLoss', `needs at least two references, got K = ${K} (skip MDL for single-reference batches)`);
  const eps = opts.eps ?? 1e-8;
  const pooled = o.matmul(rw.dtype === map.dtype ? rw : o.cast(rw, map.dtype), map);
  const a = o.div(pooled, o.sum(pooled, -1, true));
  const { i, j } = referencePairs(K);
  const p = o.gather(a, i, 1);
  const q = o.gather(a, j, 1);
  const d = opts.distance === 'jsd' ? jsDivergence(p, q, eps) : symmetricKL(p, q, eps);
  return o.neg(o.mean(d));
}
