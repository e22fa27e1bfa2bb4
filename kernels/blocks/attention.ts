import { Tensor } from '../runtime/Tensor.ts';
import * as o from '../trace/ops.ts';
import { Sym } from '../trace/Sym.ts';
import { TraceError } from '../trace/TraceError.ts';

export interface AttentionParams {
  wq: Sym;
  wk: Sym;
  wv: Sym;
  wo: Sym;
  bq?: Sym;
  bk?: Sym;
  bv?: Sym;
  bo?: Sym;
}

export interface AttentionOptions {
  heads: number;
  /**
   * Which keys each query may see, [T, T]: a bool tensor (true = allowed) or an additive float
   * mask (0 / large negative). A constant `Tensor` is baked into the graph.
   */
  mask?: Sym | Tensor;
}

export interface AttentionResult {
  /** [B, T, D] after the output projection. */
  out: Sym;
  /** Per-head queries/keys/values [B, H, T, d] (queries unscaled), for correspondence maps. */
  q: Sym;
  k: Sym;
  v: Sym;
}

const NEG = -1e9;

/** Splits [B, T, D] into heads [B, H, T, d]. */
export function splitHeads(x: Sym, heads: number): Sym {
  const [b, t, d] = x.shape as number[];
  return o.transpose(o.reshape(x, [b!, t!, heads, d! / heads]), [0, 2, 1, 3]);
}

/** Merges heads [B, H, T, d] back into [B, T, H·d]. */
export function mergeHeads(x: Sym): Sym {
  const [b, h, t, d] = x.shape as number[];
  return o.reshape(o.transpose(x, [0, 2, 1, 3]), [b!, t!, h! * d!]);
}

function maskSym(x: Sym, mask: Sym | Tensor, t: number): Sym {
  const g = x.graph;
  if (mask instanceof Tensor) {
    if (mask.shape.length !== 2 || mask.shape[0] !== t || mask.shape[1] !== t) {
      throw new TraceError('multiHeadAttention', `mask must be [${t}, ${t}], got [${mask.shape.join(', ')}]`);
    }
    if (mask.dtype === 'bool') {
      const add = new Tensor(g.dtype, [t, t]);
      mask.data.forEach((v, i) => ((add.data as Float64Array)[i] = v ? 0 : NEG));
      return g.constant(add);
    }
    return g.constant(mask);
  }
  if (mask.rank !== 2 || mask.shape[0] !== t || mask.shape[1] !== t) throw new TraceError('multiHeadAttention', `mask must be [${t}, ${t}], got ${mask}`);
  return mask;
}

/** Scaled dot-product attention on [B, H, T, d] heads with an optional [T, T] mask. */
export function scaledDotProductAttention(q: Sym, k: Sym, v: Sym, mask?: Sym | Tensor): Sym {
  const d = q.shape[q.rank - 1]!;
  // Scaling q ([.., T, d]) is cheaper than scaling the [.., T, T] scores.
  let scores = o.matmul(o.mul(q, 1 / Math.sqrt(d)), k.T);
  if (mask) {
    const m = maskSym(q, mask, q.shape[q.rank - 2]!);
    scores = m.dtype === 'bool' ? o.where(m, scores, NEG) : o.add(scores, m);
  }
  return o.matmul(o.softmax(scores, -1), v);
}

/**
 * Multi-head self-attention with an arbitrary block mask. Q, K and V come from one Gemm over the
 * concatenated projection weights.
 *
 * @example
 * const mask = groupMask([4, 16, 16, 16], (i, j) => !(i >= 2 && j >= 2 && i !== j)); // refs don't see each other
 * const { out } = multiHeadAttention(x, { wq, wk, wv, wo }, { heads: 4, mask });
 */
export function multiHeadAttention(x: Sym, p: AttentionParams, options: AttentionOptions): AttentionResult {
  if (x.rank !== 3) throw new TraceError('multiHeadAttention', `input must be [B, T, D], got ${x}`);
  const dm = x.shape[2]!;
  const { heads } = options;
  if (dm % heads !== 0) throw new TraceError('multiHeadAttention', `width ${dm} is not divisible by ${heads} heads`);
  for (const w of [p.wq, p.wk, p.wv, p.wo]) {
    if (w.rank !== 2 || w.shape[0] !== dm || w.shape[1] !== dm) throw new TraceError('multiHeadAttention', `projection ${w} must be [${dm}, ${dm}]`);
  }
  const g = x.graph;
  const w = o.concat([p.wq, p.wk, p.wv], 1);
  const hasBias = p.bq || p.bk || p.bv;
  const zeros = () => o.zeros(g, [dm]);
  const b = hasBias ? o.concat([p.bq ?? zeros(), p.bk ?? zeros(), p.bv ?? zeros()], 0) : undefined;
  const qkv = o.linear(x, w, b);
  const [qf, kf, vf] = o.split(qkv, [dm, dm, dm], 2);
  const q = splitHeads(qf!, heads);
  const k = splitHeads(kf!, heads);
  const v = splitHeads(vf!, heads);
  const att = scaledDotProductAttention(q, k, v, options.mask);
  return { out: o.linear(mergeHeads(att), p.wo, p.bo), q, k, v };
}

/**
 * A [T, T] bool mask over consecutive token groups: `allow(i, j)` says whether group i's queries
 * may attend to group j's keys.
 */
export function groupMask(sizes: readonly number[], allow: (i: number, j: number) => boolean): Tensor<'bool'> {
  const t = sizes.reduce((a, b) => a + b, 0);
  const m = new Tensor('bool', [t, t]);
  const group: number[] = [];
  sizes.forEach((s, i) => {
    for (let k = 0; k < s; k++) group.push(i);
  });
  for (let r = 0; r < t; r++) for (let c = 0; c < t; c++) m.data[r * t + c] = allow(group[r]!, group[c]!) ? 1 : 0;
  return m;
}
