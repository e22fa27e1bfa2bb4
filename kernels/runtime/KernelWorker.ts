import { Worker } from 'node:worker_threads';
import type { OnnxModel } from '../onnx/OnnxModel.ts';
import { fallbackLog, markUnavailable, providerToTry, wantedProvider } from './provider.ts';
import { ortOptions, type Provider, type Runner, type SessionOptions } from './KernelSession.ts';
import { sessionModel } from './sessionModel.ts';
import { Tensor, type TensorLike } from './Tensor.ts';

interface Pending {
  resolve: (v: any) => void;
  reject: (e: Error) => void;
}


/**
 * A worker thread that owns onnxruntime sessions. `session.run` is synchronous native work that
 * blocks its thread for the whole kernel, so long kernels (training steps, encoders) go here to
 * keep the engine's event loop and progress reporting responsive.
 *
 * @example
 * const worker = KernelWorker.start();
 * const s = await worker.createSession(model, { provider: 'cpu' });
 * const { y } = await s.run({ x: Tensor.from([1, 2]) });   // main thread stays free meanwhile
 * await worker.terminate();
 */
export class KernelWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | null = null;

  private constructor() {
    this.worker = new Worker(new URL('./kernelWorker.worker.mjs', import.meta.url), { execArgv: [] });
    // An idle worker must not keep the process alive; it is ref'd only while calls are in flight.
    this.worker.unref();
    this.worker.on('message', (msg: { id: number; ok: boolean; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) this.worker.unref();
      if (msg.ok) p.resolve(msg);
      else p.reject(new Error(msg.error));
    });
    const fail = (e: Error) => {
      this.dead = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`kernel worker exited (code ${code})`)));
  }

  static start(): KernelWorker {
    return new KernelWorker();
  }

  /** @internal */
  call<T>(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  /** Creates a session inside the worker, with the same provider fallback as `KernelSession`. */
  async createSession(model: Uint8Array | OnnxModel, options: SessionOptions = {}): Promise<WorkerSession> {
    const { bytes, disabledOptimizers } = sessionModel(model);
    const wanted = wantedProvider(options.provider);
    const first = providerToTry(wanted);
    if (first !== wanted) markUnavailable(wanted, 'failed earlier in this process', fallbackLog(options.log));
    type Created = { sid: number; inputNames: string[]; outputNames: string[] };
    try {
      const r = await this.call<Created>({ type: 'create', bytes, options: ortOptions(first, hostOutputs(options), disabledOptimizers) });
      return new WorkerSession(this, r.sid, first, r.inputNames, r.outputNames);
    } catch (error) {
      if (first === 'cpu' || this.dead) throw error;
      markUnavailable(wanted, error, fallbackLog(options.log));
      const r = await this.call<Created>({ type: 'create', bytes, options: ortOptions('cpu', hostOutputs(options), disabledOptimizers) });
      return new WorkerSession(this, r.sid, 'cpu', r.inputNames, r.outputNames);
    }
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

/** A session living in a `KernelWorker`; feeds are copied to the worker, outputs transferred back. */
export class WorkerSession implements Runner {
  constructor(
    private readonly worker: KernelWorker,
    private readonly sid: number,
    readonly provider: Provider,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  async run(feeds: Record<string, TensorLike>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    const plain: Record<string, { dtype: string; shape: readonly number[]; data: unknown }> = {};
    for (const name of this.inputNames) {
      const t = feeds[name];
      if (!t) throw new Error(`kernels: missing feed '${name}' (graph inputs: ${this.inputNames.join(', ')})`);
      plain[name] = t instanceof Tensor ? { dtype: t.dtype, shape: t.shape, data: t.data } : { dtype: t.type, shape: t.dims, data: t.data };
    }
    for (const name of Object.keys(feeds)) {
      if (!this.inputNames.includes(name)) throw new Error(`kernels: unknown feed '${name}' (graph inputs: ${this.inputNames.join(', ')})`);
    }
    const r = await this.worker.call<{ result: Record<string, { dtype: string; shape: number[]; data: any }> }>({
      type: 'run',
      sid: this.sid,
      feeds: plain,
      outputs: outputs ? [...outputs] : [...this.outputNames],
    });
    const out: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(r.result)) out[k] = new Tensor(v.dtype as 'float32', v.shape, v.data);
    return out;
  }

  async release(): Promise<void> {
    await this.worker.call({ type: 'release', sid: this.sid });
  }
}

/** Worker sessions send their outputs across threads as arrays: nothing may stay in device memory. */
function hostOutputs(options: SessionOptions): SessionOptions {
  const { deviceOutputs: _deviceOutputs, ...rest } = options;
  return rest;
}
