import type { Observable } from 'rxjs';
import type { ServiceIdentifier } from 'inversify';
import type { PortType, PortValue } from './portTypes.ts';
import type { Logger } from '../services/Logger.ts';
import type { Rng } from '../services/Rng.ts';
import type { ArtifactStore } from '../services/ArtifactStore.ts';
import type { JsonSchema, ParamsOf } from './jsonSchema.ts';
import type { GraphDocument } from '../graph/GraphDocument.ts';

/** An input port. */
export interface InputSpec {
  readonly type: PortType;
  readonly description?: string;
  /** May be left unconnected; the node then receives `undefined`. */
  readonly optional?: boolean;
  /** Accepts several links; the node receives an array in link order. */
  readonly list?: boolean;
  /**
   * Consumes a stream as a whole: the node receives an `AsyncIterable` of the upstream values
   * (pulled, so a slow consumer slows the producer). Without it, a stream wired into this input
   * makes the node run once per streamed value ("map mode") and its outputs become streams.
   */
  readonly stream?: boolean;
}

/** An output port. */
export interface OutputSpec {
  readonly type: PortType;
  readonly description?: string;
  /** Emits many values over time; the node's `execute` is then an async generator or an Observable. */
  readonly stream?: boolean;
}

/** How results may be reused across runs. */
export type CachePolicy =
  /** Same type, version, params and upstream values → same outputs (the default). */
  | 'deterministic'
  /** Never reused (reads the clock, a device, the network …). */
  | 'never'
  /**
   * Reused while `fingerprint(params)` returns the same string (ComfyUI's IS_CHANGED): e.g. a
   * file loader returns the file's mtime and size. A fingerprint that throws forces a re-run.
   * `paths.resolvePath` resolves a path param as `ctx.resolvePath(path, 'read')` would (from
   * the workspace root, not the process's working directory).
   */
  | { fingerprint(params: Record<string, unknown>, paths: FingerprintPaths): string | Promise<string> };

/** What a cache fingerprint may use besides the params. */
export interface FingerprintPaths {
  /** As {@link ExecuteContext.resolvePath} with `'read'`: the real path, confined to the workspace. */
  resolvePath(path: string): Promise<string>;
}

/** Reports progress of one node; the executor turns each call into a `node:progress` event. */
export type ProgressReporter = (value: number, max?: number, message?: string, preview?: unknown) => void;

type Mapped<I extends Record<string, InputSpec>> = {
  [K in keyof I]: I[K]['stream'] extends true
    ? AsyncIterable<PortValue<I[K]['type']>>
    : I[K]['list'] extends true
      ? PortValue<I[K]['type']>[]
      : I[K]['optional'] extends true
        ? PortValue<I[K]['type']> | undefined
        : PortValue<I[K]['type']>;
};

/** Inputs a node receives, typed from its input specs. */
export type InputsOf<I extends Record<string, InputSpec>> = Mapped<I>;
/** Outputs a node returns, typed from its output specs. */
export type OutputsOf<O extends Record<string, OutputSpec>> = { [K in keyof O]: PortValue<O[K]['type']> };

/** Everything a node's `execute` receives. */
export interface ExecuteContext<I = Record<string, any>, P = Record<string, any>> {
  /** Node id in the graph. */
  readonly nodeId: string;
  readonly inputs: I;
  /** Params after schema defaults were applied and `--set` overrides merged. */
  readonly params: P;
  /** Aborted when the run is cancelled; long work should check it or pass it on. */
  readonly signal: AbortSignal;
  readonly progress: ProgressReporter;
  readonly log: Logger;
  /**
   * Seeded per run and per node: same graph + seed → same numbers, whatever the scheduling order.
   * Reading it marks the node's result as seed-dependent for the cache.
   */
  readonly rng: Rng;
  /** Where the run's output files go (atomic writes, confined to the run directory). */
  readonly artifacts: ArtifactStore;
  /** Resolves a service bound in the engine's container (e.g. by another plugin). */
  get<T>(token: ServiceIdentifier<T>): T;
  /**
   * The real absolute path for a path the graph named (a param marked `"x-path"`, or a path that
   * arrived on an input), relative paths from the workspace root. Throws a `WorkspacePathError`
   * when it leaves the workspace (symlinks followed); writes may also go to the run directory,
   * reads also to the engine's extra read roots. Use it for every path before touching it.
   */
  resolvePath(path: string, access: 'read' | 'write'): Promise<string>;
  /**
   * The graph document being run, with `seed` set to the run's seed: for sinks that record where
   * an output came from (core/SaveImage embeds it in its PNGs). Not part of the cache key, so a
   * node whose result depends on it must be `cache: 'never'`. Read-only; absent outside a run.
   */
  readonly graph?: Readonly<GraphDocument>;
}

/** What `execute` may return. */
export type ExecuteResult<O> =
  | O
  | Promise<O>
  | Observable<Partial<O>>
  | AsyncIterable<Partial<O>>;

/**
 * A node type: static description as data plus one stateless `execute` function (ComfyUI V3's
 * lesson: the schema is data, state lives in services).
 */
export interface NodeDefinition<
  I extends Record<string, InputSpec> = Record<string, InputSpec>,
  O extends Record<string, OutputSpec> = Record<string, OutputSpec>,
  S extends JsonSchema = JsonSchema,
> {
  /** Namespaced id, `plugin/Name`, e.g. `core/Add`. */
  readonly type: string;
  readonly title: string;
  readonly category: string;
  readonly description: string;
  /** Semver of this node's behaviour; part of the cache key, so bump it when outputs change. */
  readonly version: string;
  readonly inputs: I;
  readonly outputs: O;
  /** JSON Schema (an object schema) for params; `default`s are applied before execute. */
  readonly params?: S;
  /** A sink: always runs when the graph runs (save, print, preview). */
  readonly output?: boolean;
  readonly cache?: CachePolicy;
  /** Hidden from palettes but still runnable. */
  readonly deprecated?: boolean;
  readonly experimental?: boolean;
  /**
   * Shape-check this node's output values against their port types (default true). Turn off
   * only for a hot node whose outputs are already known to fit; unknown output keys stay errors.
   */
  readonly checkPorts?: boolean;
  execute(ctx: ExecuteContext<InputsOf<I>, ParamsOf<S>>): ExecuteResult<OutputsOf<O>>;
}

/** A node definition with its generic details erased, as the registry holds it. */
export type AnyNodeDefinition = NodeDefinition<any, any, any>;
