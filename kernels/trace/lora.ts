/**
 * LoRA for imported models as graph surgery: the output of each targeted MatMul, Gemm or Conv
 * gets  scale · x·A·B  added (for a Conv, a rank-r conv with the node's kernel, stride and
 * padding, then a 1×1 conv), with A drawn small and B zero, so before training the model computes
 * exactly what was exported. Works on the activation path, so folded, transposed or shared
 * weights need no special case.
 */
import type { Graph } from './Graph.ts';
import type { NodeRewrite, RewriteSite } from './importRewrite.ts';
import { init } from './init.ts';
import { TraceError } from './TraceError.ts';
import * as o from './ops.ts';
import type { Sym } from './Sym.ts';

export interface LoraOptions {
  /**
   * Which layers: a string is a glob ('*' = any characters) matched in full against the layer's
   * PyTorch module path ('blocks.0.attn.qkv'), its weight's PyTorch or ONNX name, or the node
   * name; a RegExp is tested against the same. Each target must match at least one layer.
   */
  targets: readonly (string | RegExp)[];
  rank: number;
  /** Scale is alpha / rank (default alpha = rank: scale 1). */
  alpha?: number;
  /** Param names are `<prefix>lora.<module or weight>.A|B` (default prefix ''). */
  prefix?: string;
}

const OPS = new Set(['MatMul', 'Gemm', 'Conv']);

export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

/** The names a LoRA target may name a layer by. */
export function layerNames(site: RewriteSite): string[] {
  const w = site.weights.find((x) => x.slot === 1);
  return [site.module, w?.torchName, w?.initializer, w?.param, site.node.name].filter((s): s is string => !!s);
}

/** The weight-bearing node LoRA can wrap here, or null (first output of MatMul/Gemm/Conv reading a param at input 1). */
function eligible(site: RewriteSite): boolean {
  return site.index === 0 && OPS.has(site.node.opType) && site.weights.some((w) => w.slot === 1);
}

function attrInt(site: RewriteSite, name: string): number | number[] | undefined {
  return site.node.attributes.find((a) => a.name === name)?.value as number | number[] | undefined;
}

/**
 * A Conv's stride and pad when the adapter can copy its geometry: 2-D, one stride for both axes,
 * one pad on all four sides, ungrouped, undilated (what conv2d computes). Anything else is refused
 * by node name rather than left to fail later with a shape error.
 */
function convGeometry(site: RewriteSite): { stride: number; pad: number } {
  const strides = (attrInt(site, 'strides') as number[] | undefined) ?? [1, 1];
  const pads = (attrInt(site, 'pads') as number[] | undefined) ?? [0, 0, 0, 0];
  const dilations = (attrInt(site, 'dilations') as number[] | undefined) ?? [1, 1];
  const group = (attrInt(site, 'group') as number | undefined) ?? 1;
  const autoPad = site.node.attributes.find((a) => a.name === 'auto_pad')?.value;
  const why: string[] = [];
  if (site.input(0).rank !== 4) why.push(`a ${site.input(0).rank - 2}-D conv`);
  if (group !== 1) why.push(`group ${group}`);
  if (dilations.some((d) => d !== 1)) why.push(`dilations [${dilations.join(', ')}]`);
  if (new Set(strides).size > 1) why.push(`strides [${strides.join(', ')}]`);
  if (new Set(pads).size > 1) why.push(`pads [${pads.join(', ')}]`);
  if (autoPad !== undefined && autoPad !== 'NOTSET') why.push(`auto_pad ${String(autoPad)}`);
  if (why.length) {
    throw new TraceError('lora', `cannot wrap Conv node '${site.node.name || site.tensor}'${site.module ? ` (${site.module})` : ''}: ${why.join(', ')}; LoRA supports 2-D, ungrouped, undilated convs with one stride and one symmetric pad (leave this layer out of the targets)`);
  }
  return { stride: strides[0] ?? 1, pad: pads[0] ?? 0 };
}

function uniqueName(g: Graph, base: string): string {
  const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_').replace(/^[^A-Za-z_]+/, '');
  let name = clean;
  for (let k = 2; g.params.has(`${name}.A`); k++) name = `${clean}_${k}`;
  return name;
}

/** x·A·B · scale for the site's op, with fresh params A (uniform ±1/√fan-in) and B (zeros). */
function delta(g: Graph, site: RewriteSite, out: Sym, rank: number, scale: number, name: string): Sym {
  const A = (shape: number[], fanIn: number) => g.param(`${name}.A`, shape, { init: init.uniform(1 / Math.sqrt(fanIn)), decay: false });
  const B = (shape: number[]) => g.param(`${name}.B`, shape, { init: init.zeros(), decay: false });
  const x = site.input(0);
  switch (site.node.opType) {
    case 'MatMul': {
      const din = x.shape[x.rank - 1]!;
      const dout = out.shape[out.rank - 1]!;
      return o.matmul(o.matmul(x, A([din, rank], din)), B([rank, dout])).mul(scale);
    }
    case 'Gemm': {
      const xa = attrInt(site, 'transA') ? o.transpose(x) : x;
      const alpha = (site.node.attributes.find((a) => a.name === 'alpha')?.value as number | undefined) ?? 1;
      return o.matmul(o.matmul(xa, A([xa.shape[1]!, rank], xa.shape[1]!)), B([rank, out.shape[1]!])).mul(scale * alpha);
    }
    default: {
      const w = site.input(1);
      const [, cin, kh, kw] = w.shape as number[];
      const { stride, pad } = convGeometry(site);
      const h = o.conv2d(x, A([rank, cin!, kh!, kw!], cin! * kh! * kw!), undefined, { stride, pad });
      return o.conv2d(h, B([out.shape[1]!, rank, 1, 1])).mul(scale);
    }
  }
}

/**
 * One rewrite per target for `ImportOptions.rewrites`. A layer two targets match is wrapped once.
 *
 * @example
 * const { tensors } = importOnnxModel(g, model, { x, t }, { params: 'frozen', rewrites: loraRewrites(g, { targets: ['qkv', 'mlp.*'], rank: 4 }) });
 */
export function loraRewrites(g: Graph, options: LoraOptions): NodeRewrite[] {
  const { rank } = options;
  if (!Number.isInteger(rank) || rank < 1) throw new RangeError(`lora: rank must be a positive integer, got ${String(rank)}`);
  const alpha = options.alpha ?? rank;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new RangeError(`lora: alpha must be a finite number, got ${String(alpha)}`);
  if (!Array.isArray(options.targets) || options.targets.length === 0) throw new RangeError('lora: name at least one target');
  const wrapped = new Set<string>();
  return options.targets.map((target) => {
    if (typeof target !== 'string' && !(target instanceof RegExp)) throw new TypeError(`lora: a target must be a string or RegExp, got ${typeof target}`);
    const re = typeof target === 'string' ? globToRegExp(target) : target;
    return {
      label: `lora target ${String(target)}`,
      word: typeof target === 'string' ? target : target.source,
      names: (site: RewriteSite) => (eligible(site) ? layerNames(site) : []),
      match: (site: RewriteSite) => eligible(site) && layerNames(site).some((n) => ((re.lastIndex = 0), re.test(n))),
      rewrite: (out: Sym, site: RewriteSite) => {
        if (wrapped.has(site.tensor)) return out;
        wrapped.add(site.tensor);
        const base = site.weights.find((w) => w.slot === 1)!;
        const name = uniqueName(g, `${options.prefix ?? ''}lora.${site.module ?? base.param}`);
        return out.add(delta(g, site, out, rank, alpha / rank, name));
      },
    };
  });
}
