import type { DType } from '../onnx/OnnxModel.ts';
import type { Graph } from '../trace/Graph.ts';
import type { Sym } from '../trace/Sym.ts';
import { defaultSessionCache, type Runner, type SessionCache, type SessionOptions } from './KernelSession.ts';
import type { KernelWorker } from './KernelWorker.ts';
import { Tensor, type TensorLike } from './Tensor.ts';

export interface InputSpec {
  name: string;
  shape: readonly number[];
  dtype: DType;
}

/** Checks feeds against declared inputs; errors name the tensor and both shapes. */
export function checkFeeds(declared: readonly InputSpec[], feeds: Record<string, TensorLike>, what = 'kernel'): void {
  const known = new Set(declared.map((d) => d.name));
  for (const d of declared) {
    const t = feeds[d.name];
    if (!t) throw new Error(`${what}: missing feed '${d.name}' (${d.dtype}[${d.shape.join(', ')}])`);
    const shape = t instanceof Tensor ? t.shape : t.dims;
    const dtype = t instanceof Tensor ? t.dtype : t.type;
    if (dtype !== d.dtype) throw new Error(`${what}: feed '${d.name}' is ${dtype}, expected ${d.dtype}`);
    if (shape.length !== d.shape.length || shape.some((v, i) => v !== d.shape[i])) {
      throw new Error(`${what}: feed '${d.name}' has shape [${shape.join(', ')}], expected [${d.shape.join(', ')}]`);
    }
  }
  for (const k of Object.keys(feeds)) if (!known.has(k)) throw new Error(`${what}: unknown feed '${k}' (inputs: ${[...known].join(', ')})`);
}

export interface CompileOptions extends SessionOptions {
  /** Run the session in this worker thread instead of the calling thread. */
  worker?: KernelWorker;
  cache?: SessionCache;
}

/**
 * A compiled forward kernel: validates feeds against the traced shapes, then runs one session.
 *
 * @example
 * const g = new Graph(); const x = g.input('x', [2, 2]);
 * const k = await compile(g, { y: x.softmax() });
 * const { y } = await k.run({ x: Tensor.from([[1, 2], [3, 4]]) });
 */
export class Kernel {
  constructor(
    readonly runner: Runner,
    readonly inputs: readonly InputSpec[],
  ) {}

  get provider() {
    return this.runner.provider;
  }

  async run(feeds: Record<string, TensorLike>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    checkFeeds(this.inputs, feeds);
    return this.runner.run(feeds, outputs);
  }
}

/** Compiles `outputs` of a traced graph into a `Kernel` (sessions shared through the cache). */
export async function compile(graph: Graph, outputs: Record<string, Sym>, options: CompileOptions = {}): Promise<Kernel> {
  const model = graph.toModel(outputs);
  const runner = options.worker ? await options.worker.createSession(model, options) : await (options.cache ?? defaultSessionCache).get(model, options);
  const inputs = model.graph.inputs.map((i) => ({ name: i.name, shape: i.shape as number[], dtype: i.dtype }));
  return new Kernel(runner, inputs);
}
