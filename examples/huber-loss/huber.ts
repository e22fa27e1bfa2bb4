import { Graph, KernelSession, Tensor, grad, ops as o, type Sym } from 'tessera/kernels';
import type { ServiceIdentifier } from 'tessera';

/**
 * Mean Huber loss of `pred − target`: ½d² where |d| ≤ δ, δ(|d| − ½δ) beyond. Written as
 * ½·m² + δ·(|d| − m) with m = min(|d|, δ), one expression with no branch, so autodiff and
 * onnxruntime handle it like any other op chain.
 */
export function huberLoss(pred: Sym, target: Sym, delta: number): Sym {
  const a = o.abs(o.sub(pred, target));
  const m = o.minimum(a, delta);
  return o.mean(o.add(o.mul(o.square(m), 0.5), o.mul(o.sub(a, m), delta)));
}

/** A loss value and its gradient with respect to `pred` (same shape as pred). */
export interface HuberResult {
  readonly loss: number;
  readonly grad: Tensor;
}

/**
 * Compiles the loss + gradient program once per (shape, δ) and keeps the sessions: compiling
 * costs milliseconds, running microseconds. State belongs in a service, not in a node, so the
 * plugin binds one instance under {@link HUBER_KERNELS}.
 */
export class HuberKernels {
  readonly #sessions = new Map<string, Promise<KernelSession>>();

  /** Sessions kept at most (least recently used ones are released). */
  constructor(readonly capacity = 8) {}

  async evaluate(pred: { shape: readonly number[]; data: ArrayLike<number> }, target: { shape: readonly number[]; data: ArrayLike<number> }, delta: number): Promise<HuberResult> {
    if (pred.shape.join(',') !== target.shape.join(',')) throw new RangeError(`huber: pred has shape [${pred.shape.join(', ')}] but target has [${target.shape.join(', ')}]`);
    if (!(delta > 0)) throw new RangeError(`huber: delta must be positive, got ${delta}`);
    const session = await this.#session(pred.shape, delta);
    const out = await session.run({ pred: new Tensor('float32', [...pred.shape], Float32Array.from(pred.data)), target: new Tensor('float32', [...target.shape], Float32Array.from(target.data)) });
    return { loss: out.loss!.item(), grad: out.grad! };
  }

  /** Releases every compiled session. */
  async release(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map(async (s) => (await s).release()));
  }

  #session(shape: readonly number[], delta: number): Promise<KernelSession> {
    const key = `${shape.join('x')}|${delta}`;
    let session = this.#sessions.get(key);
    if (session) this.#sessions.delete(key); // re-inserted below: the Map's order is recency
    else {
      const g = new Graph();
      const pred = g.input('pred', shape);
      const loss = huberLoss(pred, g.input('target', shape), delta);
      session = KernelSession.create(g.toModel({ loss, grad: grad(loss, [pred])[0]! }));
    }
    this.#sessions.set(key, session);
    if (this.#sessions.size > this.capacity) {
      const [oldest, evicted] = this.#sessions.entries().next().value!;
      this.#sessions.delete(oldest);
      void evicted.then((s) => s.release());
    }
    return session;
  }
}

/** Token other plugins (and this plugin's nodes) resolve the kernels service by. */
export const HUBER_KERNELS: ServiceIdentifier<HuberKernels> = Symbol.for('tessera-plugin-huber.Kernels');
