import { ops as o, type Sym } from 'tessera/kernels';
import type { AttentionTap, TapLayout } from './attentionTaps.ts';

/**
 * A q or k tensor as [rows, H, T, d]: rank 4 as exported ([rows, heads, tokens, head size]), or
 * rank 3 [rows, T, D] (a projection before the head split) split into `heads` heads.
 */
export function asHeads(x: Sym, heads: number, name: string): Sym {
  if (x.rank === 4) return x;
  if (x.rank !== 3) throw new RangeError(`model: attention tensor '${name}' is ${x}; name a [batch, heads, tokens, head size] or [batch, tokens, channels] tensor`);
  const [rows, t, d] = x.shape as [number, number, number];
  if (d % heads) throw new RangeError(`model: attention tensor '${name}' has ${d} channels, not divisible into ${heads} heads`);
  return o.transpose(o.reshape(x, [rows, t, heads, d / heads]), [0, 2, 1, 3]);
}

/**
 * The reference→target taps of a forward over [B targets; B·K references] (rows b·K … b·K + K − 1
 * of the references belong to sample b): queries of each sample's references, keys of its target.
 * Why across rows: an imported model sees one image per row, so "reference tokens attending to
 * target tokens" is the reference's query against the target's keys at the same site.
 */
export function tapsOf(pairs: readonly { q: string; k: string }[], tensors: Readonly<Record<string, Sym>>, heads: number, batch: number, k: number): { taps: AttentionTap[]; layout: TapLayout } {
  const taps = pairs.map(({ q, k: key }) => {
    const qs = asHeads(tensors[q]!, heads, q);
    const ks = asHeads(tensors[key]!, heads, key);
    const [rows, h, l, d] = qs.shape as [number, number, number, number];
    if (rows !== batch * (1 + k)) throw new RangeError(`model: attention tensor '${q}' has ${rows} rows; the forward ran ${batch * (1 + k)} images`);
    if (ks.shape[0] !== rows || ks.shape[1] !== h || ks.shape[3] !== d) throw new RangeError(`model: attention tensors '${q}' ${qs} and '${key}' ${ks} disagree on batch, heads or head size`);
    const refs = o.slice(qs, [batch], [rows], [0]);
    const qRef = o.reshape(o.transpose(o.reshape(refs, [batch, k, h, l, d]), [0, 2, 1, 3, 4]), [batch, h, k * l, d]);
    return { q, k: key, qRef, kTgt: o.slice(ks, [0], [batch], [0]) };
  });
  const first = taps[0]!;
  const layout: TapLayout = { batch, k, refTokens: first.qRef.shape[2]! / k, targetTokens: first.kTgt.shape[2]! };
  for (const t of taps) {
    if (t.qRef.shape[2] !== first.qRef.shape[2] || t.kTgt.shape[2] !== layout.targetTokens) throw new RangeError(`model: attention sites '${first.q}' and '${t.q}' have different token counts; a correspondence map averages sites of one resolution`);
  }
  return { taps, layout };
}
