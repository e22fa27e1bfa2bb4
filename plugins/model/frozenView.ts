import type { Graph, ParamOptions, Sym } from 'tessera/kernels';

/** Params of the frozen reference copy a preference objective trains against are `ref.<param>`. */
export const REF_PREFIX = 'ref.';

/**
 * `g` with every param it declares frozen (trainable: false); everything else is `g` itself. Why:
 * the reference copy of a DPO step replays the export and its LoRA adapters a second time into
 * the same graph, and the adapters' code declares them trainable.
 */
export function frozenView(g: Graph): Graph {
  const param = (name: string, shape: readonly number[], options: ParamOptions = {}): Sym => g.param(name, shape, { ...options, trainable: false });
  return new Proxy(g, {
    get(target, prop) {
      if (prop === 'param') return param;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
