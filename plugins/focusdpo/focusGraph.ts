import { ops as o, TraceError, type Sym } from 'tessera/kernels';

/**
 * M_corr,t from a reference→target correspondence map [B, R, N] (each row a distribution over
 * the N target patches): per reference patch i the k target patches it attends to most keep
 * their attention A[i, p], scaled by the row's confidence weight 1 − ρ + ρ·conf_i with
 * conf_i = (max_p A[i, p] − 1/N) / (1 − 1/N) (0 for uniform attention, 1 for one-hot); summed
 * over reference patches and divided by its maximum over p → [B, N] in [0, 1]. Gradients stop
 * here: the map weighs the loss, it is not trained.
 */
export function correspondenceFocus(map: Sym, topK: number, rho: Sym): Sym {
  if (map.rank !== 3) throw new TraceError('correspondenceFocus', `expects a map [B, R, N], got ${map}`);
  const [B, R, N] = map.shape as [number, number, number];
  if (!Number.isInteger(topK) || topK < 1) throw new TraceError('correspondenceFocus', `topK must be an integer ≥ 1, got ${topK}`);
  const k = Math.min(topK, N);
  const g = map.graph;
  const a = o.stopGradient(map);
  // TopK has no autodiff rule; it only picks a threshold, below the stop-gradient.
  const [values] = g.node('TopK', [a, g.ints([k])], { axis: -1, largest: 1, sorted: 1 }, [
    { shape: [B, R, k], dtype: a.dtype },
    { shape: [B, R, k], dtype: 'int64' },
  ]);
  const kth = o.slice(values!, [k - 1], [k], [2]); // [B, R, 1]
  const keep = o.cast(o.greaterOrEqual(a, kth), a.dtype);
  const conf = o.maximum(o.div(o.sub(o.max(a, 2, true), 1 / N), 1 - 1 / N), 0); // [B, R, 1]
  const rowWeight = o.add(o.sub(1, rho), o.mul(rho, conf));
  const m = o.sum(o.mul(o.mul(keep, a), rowWeight), 1); // [B, N]
  return o.div(m, o.maximum(o.max(m, 1, true), 1e-12));
}

/** The terms of W_t, each [B, N] (null: switched off, i.e. 1 everywhere for prior and correspondence, 0 for complexity). */
export interface FocusTerms {
  prior: Sym | null;
  corr: Sym | null;
  complexity: Sym | null;
  /** 1[t < τ] per batch element [B]. */
  gate: Sym;
  lambda: Sym;
}

/**
 * W_t = normalise(M_prior ⊙ (M_corr,t + 1[t < τ]·λ·M_complexity)), normalised to sum 1 over the
 * patches of each sample (a sample whose raw map is all zero gets W = 0 and adds nothing).
 * With every term off W = 1/N: Σ_p W_p e_p is then the per-sample flow-matching MSE.
 */
export function focusWeights(t: FocusTerms, B: number, N: number): Sym {
  const g = t.gate.graph;
  let base: Sym = t.corr ?? o.expand(g.constant(1), [B, N]);
  if (t.complexity) base = o.add(base, o.mul(o.mul(o.reshape(t.gate, [B, 1]), t.lambda), t.complexity));
  const raw = t.prior ? o.mul(t.prior, base) : base;
  return o.stopGradient(o.div(raw, o.maximum(o.sum(raw, 1, true), 1e-12)));
}

/** Per-patch flow-matching errors [B, N] of policy and frozen reference on winner and loser. */
export interface PairErrors {
  policyW: Sym;
  refW: Sym;
  policyL: Sym;
  refL: Sym;
}

/**
 * The spatially weighted Flow-DPO objective (docs/methods.md §2–3): with
 * d_p = (e_θ,w − e_ref,w) − (e_θ,l − e_ref,l) and inside = −(β/2)·Σ_p W_p d_p,
 * loss = mean_b −log σ(inside). Logged: implicit accuracy mean(inside > 0) (a tie counts as
 * wrong, as in the Diffusion-DPO code), the margin mean(inside), and the implicit rewards
 * r_w = −(β/2)·Σ_p W_p (e_θ,w − e_ref,w), r_l likewise (inside = r_w − r_l).
 */
export function focusDpoLoss(e: PairErrors, w: Sym, beta: Sym) {
  const half = o.mul(beta, -0.5);
  const rewardW = o.mul(half, o.sum(o.mul(w, o.sub(e.policyW, e.refW)), 1)); // [B]
  const rewardL = o.mul(half, o.sum(o.mul(w, o.sub(e.policyL, e.refL)), 1));
  const inside = o.sub(rewardW, rewardL);
  const loss = o.mean(o.neg(o.logSigmoid(inside)));
  const acc = o.mean(o.cast(o.greater(inside, 0), inside.dtype));
  return { loss, inside, acc, margin: o.mean(inside), rewardW: o.mean(rewardW), rewardL: o.mean(rewardL) };
}

/** The supervised baseline: Σ_p W_p e_θ,w(p), averaged over the batch (uniform W: the flow-matching MSE on winners). */
export function weightedFlowLoss(policyW: Sym, w: Sym): Sym {
  return o.mean(o.sum(o.mul(w, policyW), 1));
}
