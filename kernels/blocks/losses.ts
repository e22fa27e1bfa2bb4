import { Tensor } from '../runtime/Tensor.ts';
import * as o from '../trace/ops.ts';
import type { Sym } from '../trace/Sym.ts';
import { TraceError } from '../trace/TraceError.ts';

/**
 * Reference-query → target-key attention restricted to the target keys, averaged over heads:
 * softmax(q_ref·k_tgtᵀ/√d) over the N target tokens. q: [B, H, R, d], k: [B, H, N, d] → [B, R, N].
 * (MOSAIC's correspondence map for one layer; average layers with `averageMaps`.)
 *
 * @example
 * const a = restrictedAttentionMap(o.slice(q, [refStart], [refEnd], [2]), o.slice(k, [tgtStart], [tgtEnd], [2]));
 */
export function restrictedAttentionMap(qRef: Sym, kTgt: Sym): Sym {
  if (qRef.rank !== 4 || kTgt.rank !== 4) throw new TraceError('restrictedAttentionMap', `expects [B, H, R, d] and [B, H, N, d], got ${qRef} and ${kTgt}`);
  const d = qRef.shape[3]!;
  return o.mean(o.softmax(o.matmul(o.mul(qRef, 1 / Math.sqrt(d)), kTgt.T), -1), 1);
}

/** Mean of several same-shaped maps (e.g. over chosen layers). */
export function averageMaps(maps: readonly Sym[]): Sym {
  if (maps.length === 0) throw new TraceError('averageMaps', 'needs at least one map');
  const total = maps.reduce((a, b) => o.add(a, b));
  return maps.length === 1 ? total : o.div(total, maps.length);
}

/** Σ p·(log(p+eps) − log(q+eps)) over the last axis. */
export function klDivergence(p: Sym, q: Sym, eps = 1e-8): Sym {
  return o.sum(o.mul(p, o.sub(o.log(o.add(p, eps)), o.log(o.add(q, eps)))), -1);
}

/** Jensen–Shannon divergence between rows (last axis): ½KL(p‖m) + ½KL(q‖m), m = (p+q)/2. */
export function jsDivergence(p: Sym, q: Sym, eps = 1e-8): Sym {
  const m = o.mul(o.add(p, q), 0.5);
  return o.mul(o.add(klDivergence(p, m, eps), klDivergence(q, m, eps)), 0.5);
}

/** Symmetric KL between rows: ½KL(p‖q) + ½KL(q‖p). */
export function symmetricKL(p: Sym, q: Sym, eps = 1e-8): Sym {
  return o.mul(o.add(klDivergence(p, q, eps), klDivergence(q, p, eps)), 0.5);
}

/** Σ w·(pred − target)² / Σ w: masked / per-pixel weighted MSE (w broadcasts to pred). */
export function weightedMSE(pred: Sym, target: Sym, weight?: Sym | Tensor): Sym {
  const sq = o.square(o.sub(pred, target));
  if (!weight) return o.mean(sq);
  const w = weight instanceof Tensor ? pred.graph.constant(weight) : weight;
  const wfull = o.expand(w, sq.shape);
  return o.div(o.sum(o.mul(sq, wfull)), o.sum(wfull));
}

/**
 * Flow-matching noising: x_t = (1 − t)·x0 + t·ε with regression target ε − x0. `t` is [B]
 * (one time per batch element) and broadcasts over the remaining axes.
 */
export function flowMatchingNoise(x0: Sym, noise: Sym, t: Sym): { xt: Sym; target: Sym } {
  if (t.rank !== 1 || t.shape[0] !== x0.shape[0]) throw new TraceError('flowMatchingNoise', `t must be [${x0.shape[0]}], got ${t}`);
  const tb = o.reshape(t, [x0.shape[0]!, ...x0.shape.slice(1).map(() => 1)]);
  return { xt: o.add(o.mul(o.sub(1, tb), x0), o.mul(tb, noise)), target: o.sub(noise, x0) };
}
