/**
 * Graph surgery during an ONNX import: a rewrite sees a node's output as the importer computed it
 * and returns what every later node reads instead (LoRA on an activation path, a mask added to
 * attention logits, a tap that records q/k). Rewrites that match no node are an error that lists
 * the names there are, so a typo cannot silently change nothing.
 */
import type { OnnxNode } from '../onnx/OnnxModel.ts';
import { closeNames } from './closeNames.ts';
import type { Sym } from './Sym.ts';
import { TraceError } from './TraceError.ts';

/** Where a rewrite applies: one output of one ONNX node, during the replay. */
export interface RewriteSite {
  /** The output tensor's ONNX name ('/qkv/MatMul_output_0'). */
  tensor: string;
  /** Which output of the node (0 for single-output ops). */
  index: number;
  node: OnnxNode;
  /** PyTorch module path from the scoped node name ('blocks.0.attn.qkv'), or null. */
  module: string | null;
  /** ONNX initializers the node reads (after untying), with their PyTorch names where known. */
  weights: readonly { slot: number; initializer: string; param: string; torchName: string | null }[];
  /** The node's i-th input as the replay sees it (a rewritten upstream output included). */
  input(i: number): Sym;
}

export interface NodeRewrite {
  /**
   * Which outputs: a string is an exact tensor or node name (a node name covers all its outputs),
   * a RegExp is tested against both, a function decides per site.
   */
  match: string | RegExp | ((site: RewriteSite) => boolean);
  /** The replacement; it must keep the shape and dtype of `out` (later nodes were exported for them). */
  rewrite(out: Sym, site: RewriteSite): Sym;
  /** How errors name this rewrite (default: the match itself). */
  label?: string;
  /** For a predicate: the names of a site it judges by, offered as close names when it matches nothing. */
  names?(site: RewriteSite): string[];
  /** The word close names are ranked against (default: the match's text). */
  word?: string;
}

export function matches(r: NodeRewrite, site: RewriteSite): boolean {
  const m = r.match;
  if (typeof m === 'string') return m === site.tensor || (!!site.node.name && m === site.node.name);
  if (m instanceof RegExp) {
    m.lastIndex = 0;
    if (m.test(site.tensor)) return true;
    m.lastIndex = 0;
    return !!site.node.name && m.test(site.node.name);
  }
  return m(site);
}

/** Per rewrite: how often it matched, and the names it was shown (for the no-match error). */
export interface RewriteTally {
  count: number;
  seen: Set<string>;
}

export function newTallies(rewrites: readonly NodeRewrite[]): RewriteTally[] {
  return rewrites.map(() => ({ count: 0, seen: new Set<string>() }));
}

/** Applies every matching rewrite in order, counting matches; the result keeps shape and dtype. */
export function applyRewrites(rewrites: readonly NodeRewrite[], tallies: RewriteTally[], out: Sym, site: RewriteSite): Sym {
  let cur = out;
  rewrites.forEach((r, i) => {
    const tally = tallies[i]!;
    if (!matches(r, site)) {
      if (!tally.count) for (const n of typeof r.match === 'function' && r.names ? r.names(site) : [site.tensor, site.node.name ?? '']) if (n) tally.seen.add(n);
      return;
    }
    tally.count++;
    const next = r.rewrite(cur, site);
    if (!next || typeof next !== 'object' || !Array.isArray(next.shape)) throw new TraceError('importOnnx', `rewrite ${describe(r)} returned no tensor for '${site.tensor}'`);
    if (next.dtype !== cur.dtype || next.shape.length !== cur.shape.length || next.shape.some((d, k) => d !== cur.shape[k])) {
      throw new TraceError('importOnnx', `rewrite ${describe(r)} turned '${site.tensor}' ${cur.dtype}[${cur.shape.join(', ')}] into ${next.dtype}[${next.shape.join(', ')}]; a rewrite must keep shape and dtype`);
    }
    cur = next;
  });
  return cur;
}

function describe(r: NodeRewrite): string {
  if (r.label) return `'${r.label}'`;
  return typeof r.match === 'function' ? '(predicate)' : `'${String(r.match)}'`;
}

/** Throws when a rewrite matched nothing, with the closest of the names it could have matched. */
export function checkAllMatched(rewrites: readonly NodeRewrite[], tallies: readonly RewriteTally[]): void {
  const lines = rewrites.flatMap((r, i) => {
    const { count, seen } = tallies[i]!;
    if (count) return [];
    const word = r.word ?? (r.match instanceof RegExp ? r.match.source : typeof r.match === 'string' ? r.match : '');
    const near = word ? closeNames(word.replace(/[\\^$*]/g, ''), seen, 8) : [];
    const shown = near.length ? near : [...seen].slice(0, 8);
    return [`${describe(r)} matches no node output (${seen.size} candidates)${shown.length ? `; ${near.length ? 'close' : 'some'} names: ${shown.join(', ')}` : ''}`];
  });
  if (lines.length) throw new TraceError('importOnnx', lines.join('; '));
}
