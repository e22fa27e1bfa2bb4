import { createHash } from 'node:crypto';
import ort from 'onnxruntime-node';
import type { OnnxModel } from '../onnx/OnnxModel.ts';
import { sessionModel, type SessionModel } from './sessionModel.ts';
import { Tensor, toOrtTensor, type TensorLike } from './Tensor.ts';

import { fallbackLog, markUnavailable, providerToTry, wantedProvider, type Provider, type ProviderLog } from './provider.ts';

export type { Provider };

export interface SessionOptions {
  /**
   * Preferred provider; when it cannot be created the session falls back to cpu with one log line
   * (once per log sink, or per run inside a provider scope). Default: the enclosing provider scope's
   * setting (a run's or node's `provider`), else the process default (TESSERA_PROVIDER), else cpu.
   */
  provider?: Provider;
  /** Intra-op threads. Default 2: on this class of machine 1 thread is ~1.9× slower for big kernels. */
  threads?: number;
  /** Let idle pool threads spin. Default true; turn off when several sessions alternate step by step. */
  spin?: boolean;
  /** Where the fallback line goes. Default: stderr. */
  log?: ProviderLog;
  /**
   * Outputs to leave in device memory (ORT's `preferredOutputLocation: 'gpu-buffer'`) when the
   * session runs on a GPU provider, so they can be fed back as inputs without a round trip
   * (the trainer's params and optimizer state). Ignored on cpu, where output memory is host memory.
   */
  deviceOutputs?: readonly string[];
  /**
   * ORT's CPU memory arena. Default true (fastest for one session). false: a run's buffers go back
   * to the system allocator when it ends, so sessions that take turns (a trainer's K variants) do
   * not each keep their own peak working set resident (docs/results.md, Cost: memory).
   */
  cpuArena?: boolean;
  /** ORT's memory pattern (one planned block per run instead of one allocation per tensor). Default true. */
  memPattern?: boolean;
  /** Turn on ORT's profiler; its JSON goes to `<prefix>_<time>.json` when the session ends profiling (bench/gpu/placement.ts). */
  profileFilePrefix?: string;
}


/**
 * Settings for sessions that take turns on one thread, e.g. a trainer's K variants: no spinning
 * pools (they would fight each other), and neither a per-session CPU arena nor a memory pattern,
 * so a run's buffers go back to the process allocator when it ends and serve whichever session
 * runs next. Mixed-K MOSAIC training at K = 1..8 then peaks at about the largest variant instead of
 * the sum of all (docs/results.md, Cost: memory of mixed-K training).
 */
export const ALTERNATING_SESSIONS: Readonly<Pick<SessionOptions, 'spin' | 'cpuArena' | 'memPattern'>> = Object.freeze({ spin: false, cpuArena: false, memPattern: false });

/**
 * onnxruntime session options tessera uses (shared with the worker-thread sessions).
 * `disabledOptimizers` names graph rewrites to skip for this model (see `sessionModel`); the
 * optimisation level stays 'all' either way.
 */
export function ortOptions(provider: Provider, o: SessionOptions, disabledOptimizers: readonly string[] = []): ort.InferenceSession.SessionOptions {
  const optimization = disabledOptimizers.length ? { optimization: { disable_specified_optimizers: disabledOptimizers.join(',') } } : {};
  // Measured (stack.md): arena on, sequential execution and 2 intra-op threads are each worth 1.8–2.6×.
  return {
    executionProviders: [provider],
    intraOpNumThreads: o.threads ?? 2,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableCpuMemArena: o.cpuArena ?? true,
    enableMemPattern: o.memPattern ?? true,
    graphOptimizationLevel: 'all',
    // A provider being probed logs its load failure at error level; we report it ourselves.
    logSeverityLevel: provider === 'cpu' ? 3 : 4,
    extra: { session: { intra_op: { allow_spinning: o.spin === false ? '0' : '1' } }, ...optimization },
    ...(o.profileFilePrefix ? { enableProfiling: true, profileFilePrefix: o.profileFilePrefix } : {}),
    ...(provider !== 'cpu' && o.deviceOutputs?.length ? { preferredOutputLocation: Object.fromEntries(o.deviceOutputs.map((n) => [n, 'gpu-buffer' as const])) } : {}),
  };
}

/** What trainers and kernels need from a session, in-process or in a worker thread. */
export interface Runner {
  readonly provider: Provider;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, TensorLike>, outputs?: readonly string[]): Promise<Record<string, Tensor>>;
  /**
   * Like `run` but returns ORT's own tensors, which may live in device memory (`deviceOutputs`)
   * and can be fed back as inputs as they are. Only in-process sessions have it.
   */
  runOrt?(feeds: Record<string, TensorLike>, outputs?: readonly string[]): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

/**
 * One onnxruntime session plus the provider that actually runs it. `run` takes tessera or ORT
 * tensors and returns tessera tensors wrapping ORT's output memory.
 *
 * @example
 * const s = await KernelSession.create(modelBytes, { provider: 'cuda' }); // falls back to cpu, logs once
 * const { Y } = await s.run({ X: Tensor.from([1, 2]) }, ['Y']);
 */
export class KernelSession implements Runner {
  private constructor(
    readonly session: ort.InferenceSession,
    /** The provider the session runs on (after any fallback). */
    readonly provider: Provider,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  static async create(model: Uint8Array | OnnxModel, options: SessionOptions = {}): Promise<KernelSession> {
    return KernelSession.open(sessionModel(model), options);
  }

  /** @internal Creates the session from an already encoded model (the cache hashes the bytes first). */
  static async open({ bytes, disabledOptimizers }: SessionModel, options: SessionOptions = {}): Promise<KernelSession> {
    const wanted = wantedProvider(options.provider);
    let provider: Provider = providerToTry(wanted);
    if (provider !== wanted) markUnavailable(wanted, 'failed earlier in this process', fallbackLog(options.log));
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, ortOptions(provider, options, disabledOptimizers));
    } catch (error) {
      if (provider === 'cpu') throw error;
      // ORT does not fall back across providers by itself (['cuda','cpu'] fails the same way);
      // webgpu is listed as bundled but fails here when Dawn finds no adapter.
      markUnavailable(wanted, error, fallbackLog(options.log));
      provider = 'cpu';
      session = await ort.InferenceSession.create(bytes, ortOptions('cpu', options, disabledOptimizers));
    }
    return new KernelSession(session, provider, session.inputNames, session.outputNames);
  }

  /** Runs the graph; only the requested outputs are copied out of ORT (all when omitted). */
  async run(feeds: Record<string, TensorLike>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    const raw = await this.runOrt(feeds, outputs);
    const out: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(raw)) out[k] = Tensor.fromOrt(v);
    return out;
  }

  /** Like `run` but returns ORT tensors, which can be fed back as inputs without any conversion. */
  async runOrt(feeds: Record<string, TensorLike>, outputs?: readonly string[]): Promise<Record<string, ort.Tensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of this.inputNames) {
      const v = feeds[name];
      if (!v) throw new Error(`kernels: missing feed '${name}' (graph inputs: ${this.inputNames.join(', ')})`);
      ortFeeds[name] = toOrtTensor(v);
    }
    for (const name of Object.keys(feeds)) {
      if (!this.inputNames.includes(name)) throw new Error(`kernels: unknown feed '${name}' (graph inputs: ${this.inputNames.join(', ')})`);
    }
    for (const name of outputs ?? []) {
      if (!this.outputNames.includes(name)) throw new Error(`kernels: unknown output '${name}' (graph outputs: ${this.outputNames.join(', ')})`);
    }
    return (await this.session.run(ortFeeds, outputs ? [...outputs] : [...this.outputNames])) as Record<string, ort.Tensor>;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Sessions keyed by a hash of the model bytes and options, so tracing the same program twice
 * reuses one compiled session.
 */
export class SessionCache {
  private readonly sessions = new Map<string, Promise<KernelSession>>();

  static key(bytes: Uint8Array, options: SessionOptions = {}): string {
    const h = createHash('sha256').update(bytes);
    h.update(JSON.stringify([wantedProvider(options.provider), options.threads ?? 2, options.spin ?? true, options.profileFilePrefix ?? '', options.deviceOutputs ?? [], options.cpuArena ?? true, options.memPattern ?? true]));
    return h.digest('hex');
  }

  get(model: Uint8Array | OnnxModel, options: SessionOptions = {}): Promise<KernelSession> {
    const prepared = sessionModel(model);
    const key = SessionCache.key(prepared.bytes, options);
    let s = this.sessions.get(key);
    if (!s) {
      s = KernelSession.open(prepared, options);
      this.sessions.set(key, s);
      s.catch(() => this.sessions.delete(key));
    }
    return s;
  }

  get size(): number {
    return this.sessions.size;
  }

  async clear(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await (await s.catch(() => null))?.release();
  }
}

/** Process-wide cache used by `compile` and the trainers unless they are given their own. */
export const defaultSessionCache = new SessionCache();
