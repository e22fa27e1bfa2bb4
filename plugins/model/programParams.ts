import { Graph, type PredictFn, type Tensor } from 'tessera/kernels';

/**
 * The values of every param `program` declares: from `weights` (a training run's) when they hold
 * it, else the export's own initializer. A param with neither (an adapter never trained) is a
 * RangeError naming it. A probe trace lists the params, so the values match what the program reads.
 */
export function programParams(program: PredictFn, weights: Readonly<Record<string, Tensor>> | undefined): Record<string, Tensor> {
  const probe = new Graph();
  program(probe);
  const params: Record<string, Tensor> = Object.create(null);
  for (const [name, info] of probe.params) {
    const v = (weights && Object.hasOwn(weights, name) ? weights[name] : undefined) ?? (info.init.kind === 'values' ? info.init.tensor : undefined);
    if (!v) throw new RangeError(`model: parameter '${name}' has no value (no weights given, and it is not from the export)`);
    params[name] = v;
  }
  return params;
}
