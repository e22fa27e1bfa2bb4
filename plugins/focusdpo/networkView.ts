import { TraceError, type Graph, type ParamOptions, type Sym } from 'tessera/kernels';

/** How a view declares the parameters a traced program asks for. */
export type ParamHook = (name: string, shape: readonly number[], options?: ParamOptions) => Sym;

/**
 * A view of `g` for tracing an existing program (mosaic's velocityProgram) a second time into the
 * same graph: its inputs are bound to Syms already in `g` (same name, same shape), and its
 * parameters go through `param` (e.g. renamed `ref.*` and frozen, for the DPO reference copy).
 * Everything else is `g` itself, so the program's ops land in one step graph.
 */
export function networkView(g: Graph, inputs: ReadonlyMap<string, Sym>, param: ParamHook): Graph {
  const input = (name: string, shape: readonly number[]): Sym => {
    const s = inputs.get(name);
    if (!s) throw new TraceError('networkView', `the traced program asks for input '${name}', which this view does not bind (bound: ${[...inputs.keys()].join(', ')})`);
    if (s.shape.length !== shape.length || s.shape.some((d, i) => d !== shape[i])) throw new TraceError('networkView', `input '${name}' is bound to [${s.shape.join(', ')}], the program declares [${shape.join(', ')}]`);
    return s;
  };
  return new Proxy(g, {
    get(target, prop) {
      if (prop === 'input') return input;
      if (prop === 'param') return param;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Parameter hooks: the policy (all trainable, or LoRA adapters only) and the frozen reference copy. */
export const REF_PREFIX = 'ref.';

export function policyParams(g: Graph, subset: 'all' | 'lora'): ParamHook {
  return (name, shape, options = {}) => g.param(name, shape, { ...options, trainable: subset === 'all' || /\.lora_[ab]$/.test(name) });
}

export function referenceParams(g: Graph): ParamHook {
  return (name, shape, options = {}) => g.param(REF_PREFIX + name, shape, { ...options, trainable: false });
}
