import { ops as o, Tensor, TraceError, type Sym } from 'tessera/kernels';

/** The log floor of SCAL, as in the public code (`log(A + 1e-9)`). */
export const SCAL_EPS = 1e-9;

/**
 * Semantic Correspondence Attention Loss: −Σ W·log(A + 1e-9) over [B, K·L, N], a scalar.
 * Why a weighted sum: the averaging (paper per-reference mean or code's flat pair mean, and the
 * batch mean) lives entirely in `weights` from {@link scalTargets}, so one in-graph formula
 * covers both variants and any batch's pairs.
 *
 * @example
 * const loss = scalLoss(map, g.input('scalWeights', map.shape));
 */
export function scalLoss(map: Sym, weights: Sym | Tensor): Sym {
  const w = weights instanceof Tensor ? map.graph.constant(weights) : weights;
  if (map.rank !== 3) throw new TraceError('scalLoss', `map must be [B, K·L, N], got ${map}`);
  if (w.rank !== 3 || w.shape.some((d, i) => d !== map.shape[i])) throw new TraceError('scalLoss', `weights ${w} must have the map's shape ${map}`);
  const ww = w.dtype === map.dtype ? w : o.cast(w, map.dtype);
  return o.neg(o.sum(o.mul(ww, o.log(o.add(map, SCAL_EPS)))));
}

