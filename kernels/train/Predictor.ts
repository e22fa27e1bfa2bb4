import { Graph, type FloatDType } from '../trace/Graph.ts';
import type { Sym } from '../trace/Sym.ts';
import { TraceError } from '../trace/TraceError.ts';
import { checkFeeds, type InputSpec } from '../runtime/Kernel.ts';
import { KernelSession, type Runner, type SessionCache, type SessionOptions } from '../runtime/KernelSession.ts';
import { Tensor, allocateTyped, type TensorLike } from '../runtime/Tensor.ts';
import { loadSafetensors } from './safetensors.ts';
import { CHECKPOINT_FORMAT, PARAMS_FORMAT } from './Trainer.ts';

/** A forward program: declares inputs and params on `g` and returns the named tensors to compute. */
export type PredictFn = (g: Graph) => Record<string, Sym>;

export interface PredictorOptions extends SessionOptions {
  /** Float dtype the program is traced in (params are converted float32 ↔ float64 if needed). Default float32. */
  dtype?: FloatDType;
  /**
   * Share the session through this cache (then `dispose` leaves it to `cache.clear()`). Default:
   * a private session released by `dispose`, so baked-in weights do not stay in a process-wide cache.
   */
  cache?: SessionCache;
}

export interface ParamsFile {
  /** Parameter values by name (the `param.` prefix removed). */
  params: Record<string, Tensor>;
  /** The file's header metadata (format, dtype, … and user keys). */
  metadata: Record<string, string>;
}

const shapeStr = (s: readonly number[]) => `[${s.join(', ')}]`;

function convert(t: Tensor, dtype: FloatDType, name: string): Tensor {
  if (t.dtype === dtype) return t;
  const numeric = (d: string) => d === 'float32' || d === 'float64';
  if (!numeric(t.dtype) || !numeric(dtype)) throw new Error(`Predictor: parameter '${name}' is ${t.dtype}, the program is ${dtype}`);
  const data = allocateTyped(dtype, t.size);
  (data as Float64Array).set(t.data as Float64Array);
  return new Tensor(dtype, t.shape, data);
}

/**
 * Forward-only inference of a traced program with fixed, named parameter values (e.g. weights
 * from `Trainer.getParams()` or a checkpoint).
 *
 * @example
 * const { params } = await Predictor.paramsFromCheckpoint('runs/model.safetensors');
 * const p = await Predictor.create((g) => {
 *   const x = g.input('x', [1, 4]);
 *   const W = g.param('W', [4, 2]);
 *   return { y: x.matmul(W) };
 * }, params);
 * const { y } = await p.run({ x });
 */
export class Predictor {
  private constructor(
    private readonly runner: Runner,
    private readonly owned: boolean,
    private readonly inputs: InputSpec[],
    readonly outputNames: readonly string[],
  ) {}

  /**
   * Traces `fn`, checks that `params` holds exactly its params with matching shapes (one error
   * listing every missing, unexpected or mis-shaped one) and builds the forward session.
   */
  static async create(fn: PredictFn, params: Record<string, Tensor>, options: PredictorOptions = {}): Promise<Predictor> {
    const dtype = options.dtype ?? 'float32';
    const g = new Graph({ dtype });
    const outputs = fn(g);
    if (!outputs || typeof outputs !== 'object' || Object.keys(outputs).length === 0) {
      throw new TraceError('predictor', 'the program must return a non-empty record of named tensors');
    }
    const problems: string[] = [];
    for (const p of g.params.values()) {
      const t = params[p.name];
      if (!t) problems.push(`missing parameter '${p.name}' ${shapeStr(p.shape)}`);
      else if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
        problems.push(`'${p.name}': shape ${shapeStr(t.shape)} given, ${shapeStr(p.shape)} in the program`);
      }
    }
    for (const name of Object.keys(params)) if (!g.params.has(name)) problems.push(`unexpected parameter '${name}' ${shapeStr(params[name]!.shape)}`);
    if (problems.length) throw new Error(`Predictor: parameters do not match the program:\n  ${problems.join('\n  ')}`);

    // Params are baked into the model as initializers rather than fed each run: onnxruntime then
    // treats them as constants, so it can constant-fold around them and pre-pack MatMul/Gemm
    // weights once at session creation, and each run feeds only the real inputs. The price (a
    // session per weight set, weights hashed once by the cache) is paid once for fixed params.
    for (const p of g.params.values()) {
      const t = convert(params[p.name]!, p.sym.dtype as FloatDType, p.name);
      g.initializers.push({ name: p.name, dtype: t.dtype, dims: [...t.shape], data: t.data });
    }
    const model = g.toModel(outputs, { omitInputs: g.params.keys() });
    const runner = options.cache ? await options.cache.get(model, options) : await KernelSession.create(model, options);
    const inputs = model.graph.inputs.map((i) => ({ name: i.name, shape: i.shape as number[], dtype: i.dtype }));
    return new Predictor(runner, !options.cache, inputs, Object.keys(outputs));
  }

  /** The provider the session runs on (cpu after a fallback from the one asked for). */
  get provider(): Runner['provider'] {
    return this.runner.provider;
  }

  /** Names of the program's inputs (what `run` must be fed). */
  get inputNames(): string[] {
    return this.inputs.map((i) => i.name);
  }

  /** Runs the program; `outputs` picks a subset of `outputNames` (all when omitted). */
  async run(feeds: Record<string, TensorLike>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    if (this.disposed) throw new Error('predictor.run: the predictor was disposed');
    checkFeeds(this.inputs, feeds, 'predictor.run');
    for (const o of outputs ?? []) {
      if (!this.outputNames.includes(o)) throw new Error(`predictor.run: unknown output '${o}' (outputs: ${this.outputNames.join(', ')})`);
    }
    return this.runner.run(feeds, outputs);
  }

  private disposed = false;

  /** Releases the private session (a session from `options.cache` is left to that cache). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.owned) await this.runner.release();
  }

  /**
   * Reads parameter values from a Trainer checkpoint (`save`, `param.*` tensors; optimizer state
   * is ignored) or a `saveParams` file.
   */
  static async paramsFromCheckpoint(path: string): Promise<ParamsFile> {
    const { tensors, metadata } = await loadSafetensors(path);
    if (metadata.format !== CHECKPOINT_FORMAT && metadata.format !== PARAMS_FORMAT) {
      throw new Error(`Predictor.paramsFromCheckpoint: ${path} has format '${metadata.format ?? 'none'}', expected '${CHECKPOINT_FORMAT}' or '${PARAMS_FORMAT}'`);
    }
    const params: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(tensors)) if (name.startsWith('param.')) params[name.slice('param.'.length)] = t;
    return { params, metadata };
  }
}
