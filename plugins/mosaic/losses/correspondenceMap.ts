import { averageMaps, restrictedAttentionMap, TraceError, type Sym } from 'tessera/kernels';

/** One tapped attention site: reference-token queries and target-token keys of one block. */
export interface CorrespondenceTap {
  /** The transformer block it was tapped from, where known (mosaicNetwork sets it). */
  readonly block?: number;
  /** Post-RoPE/QK-norm queries of the reference tokens, [B, H, K·L, d] (slot order). */
  readonly qRef: Sym;
  /** Keys of the target tokens, [B, H, N, d]. */
  readonly kTgt: Sym;
}

/**
 * MOSAIC's reference→target correspondence map A_ref→tgt (paper Eq. 8; public code
 * `attn_forward`): per tap softmax(q_ref·k_tgtᵀ/√d) restricted to the N target keys, mean
 * over heads, then mean over taps (blocks) → [B, K·L, N], each row a distribution over target
 * patches. Why a separate map: SCAL/MDL supervise where each reference token *looks* in the
 * target, which the forward attention (softmaxed over text + target + references) does not expose.
 *
 * @example
 * const map = correspondenceMap(blocks.map((b) => ({ qRef: b.qRef, kTgt: b.kTgt })));
 */
export function correspondenceMap(taps: readonly CorrespondenceTap[]): Sym {
  if (taps.length === 0) throw new TraceError('correspondenceMap', 'needs at least one tap');
  const first = taps[0]!;
  for (const [i, t] of taps.entries()) {
    if (t.qRef.rank !== 4 || t.kTgt.rank !== 4) throw new TraceError('correspondenceMap', `tap ${i}: expects qRef [B, H, K·L, d] and kTgt [B, H, N, d], got ${t.qRef} and ${t.kTgt}`);
    const [b, h, r, d] = t.qRef.shape;
    const [b2, h2, , d2] = t.kTgt.shape;
    if (b !== b2 || h !== h2 || d !== d2) throw new TraceError('correspondenceMap', `tap ${i}: qRef ${t.qRef} and kTgt ${t.kTgt} disagree on batch, heads or head size`);
    if (r !== first.qRef.shape[2] || t.kTgt.shape[2] !== first.kTgt.shape[2] || b !== first.qRef.shape[0]) {
      throw new TraceError('correspondenceMap', `tap ${i}: ${t.qRef} / ${t.kTgt} differ in token counts from tap 0 (${first.qRef} / ${first.kTgt})`);
    }
  }
  return averageMaps(taps.map((t) => restrictedAttentionMap(t.qRef, t.kTgt)));
}
