import { init } from '../trace/init.ts';
import type { Graph } from '../trace/Graph.ts';
import * as o from '../trace/ops.ts';
import type { Sym } from '../trace/Sym.ts';
import type { Tensor } from '../runtime/Tensor.ts';
import { multiHeadAttention, type AttentionParams } from './attention.ts';

export interface TransformerBlockParams {
  ln1g: Sym;
  ln1b: Sym;
  attn: AttentionParams;
  ln2g: Sym;
  ln2b: Sym;
  w1: Sym;
  b1: Sym;
  w2: Sym;
  b2: Sym;
}

/** Declares a pre-LN transformer block's parameters under `prefix` (norm gains/biases without decay). */
export function transformerBlockParams(g: Graph, prefix: string, width: number, hidden: number): TransformerBlockParams {
  const p = (n: string, shape: number[], i = init.xavier(), decay = true) => g.param(`${prefix}.${n}`, shape, { init: i, decay });
  return {
    ln1g: p('ln1.g', [width], init.ones(), false),
    ln1b: p('ln1.b', [width], init.zeros(), false),
    attn: {
      wq: p('attn.wq', [width, width]),
      wk: p('attn.wk', [width, width]),
      wv: p('attn.wv', [width, width]),
      wo: p('attn.wo', [width, width]),
      bq: p('attn.bq', [width], init.zeros(), false),
      bk: p('attn.bk', [width], init.zeros(), false),
      bv: p('attn.bv', [width], init.zeros(), false),
      bo: p('attn.bo', [width], init.zeros(), false),
    },
    ln2g: p('ln2.g', [width], init.ones(), false),
    ln2b: p('ln2.b', [width], init.zeros(), false),
    w1: p('mlp.w1', [width, hidden]),
    b1: p('mlp.b1', [hidden], init.zeros(), false),
    w2: p('mlp.w2', [hidden, width]),
    b2: p('mlp.b2', [width], init.zeros(), false),
  };
}

/**
 * Pre-LN transformer block: x + MHA(LN(x)), then + MLP(LN(·)) with exact GELU.
 *
 * @example
 * const p = transformerBlockParams(g, 'block0', 128, 512);
 * const { out } = transformerBlock(x, p, { heads: 4 });
 */
export function transformerBlock(x: Sym, p: TransformerBlockParams, options: { heads: number; mask?: Sym | Tensor }): { out: Sym; q: Sym; k: Sym } {
  const a = multiHeadAttention(o.layerNorm(x, p.ln1g, p.ln1b), p.attn, options);
  const h = o.add(x, a.out);
  const m = o.linear(o.gelu(o.linear(o.layerNorm(h, p.ln2g, p.ln2b), p.w1, p.b1)), p.w2, p.b2);
  return { out: o.add(h, m), q: a.q, k: a.k };
}
