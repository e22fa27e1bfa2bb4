import { Observable } from 'rxjs';
import { setMaxListeners } from 'node:events';
import type { ServiceIdentifier } from 'inversify';
import type { RunPlan, PlannedNode } from './planRun.ts';
import type { ExecutionEvent, NodeErrorInfo } from './events.ts';
import type { NodeCache } from './NodeCache.ts';
import type { ExecuteContext, InputSpec } from '../plugin/NodeDefinition.ts';
import type { GraphDocument } from '../graph/GraphDocument.ts';
import type { Logger } from '../services/Logger.ts';
import { ArtifactStore } from '../services/ArtifactStore.ts';
import { Channel } from './Channel.ts';
import { NodeContext, type ContextHost } from './NodeContext.ts';
import { Deferred } from '../util/Deferred.ts';
import { cacheKey, seededKey } from './cacheKey.ts';
import { hashString32 } from '../util/hash.ts';
import { summarizeValue } from '../util/summarizeValue.ts';
import { NodeContractError, RunCancelled, UpstreamFailure } from './errors.ts';
import { isAsyncIterable, toResultIterable } from './toAsyncIterable.ts';
import { eventLoopTurn } from './eventLoopTurn.ts';
import { checkOutputValues } from './checkPorts.ts';
import { WORKSPACE } from '../plugin/tokens.ts';

/** Options of one run. */
export interface RunOptions {
  /** Run seed; defaults to the graph's `seed`, else 0. */
  readonly seed?: number;
  /** Run directory for artifacts; defaults to a fresh temp directory. */
  readonly outDir?: string;
  /** Node ids whose results are wanted; defaults to the sink nodes (or the leaves). */
  readonly targets?: readonly string[];
  /** Cancels the run when aborted (so does unsubscribing). */
  readonly signal?: AbortSignal;
  readonly runId?: string;
  /** Reuse and store results in the engine's cache (default true). */
  readonly useCache?: boolean;
  /** Values a stream may run ahead of its slowest consumer (default 16). */
  readonly streamHighWater?: number;
  /** Most nodes executing at once (default unlimited; async nodes overlap, sync ones take turns). */
  readonly concurrency?: number;
  /**
   * Asked between stream values; while it returns a promise, stream pumping waits for it. Lets a
   * slow consumer of the events (a log file on a slow disk) slow the run down instead of
   * buffering without bound.
   */
  readonly backpressure?: () => PromiseLike<void> | undefined;
  /**
   * Shape-check every output value against its port type (core/engine/checkPorts.ts; default
   * true). A node opts out for itself with `checkPorts: false`. Unknown output keys are errors either way.
   */
  readonly checkPorts?: boolean;
}

/** What the executor needs from the engine. */
export interface ExecutorServices {
  readonly cache: NodeCache;
  readonly logger: Logger;
  get<T>(token: ServiceIdentifier<T>): T;
}

type PortData = { readonly kind: 'value'; readonly value: unknown; readonly key: string | undefined } | { readonly kind: 'stream'; readonly channel: Channel<unknown> };

type Outcome = 'done' | 'cached' | 'failed' | 'skipped' | 'cancelled';

/**
 * Executes a planned run and reports it as an Observable of {@link ExecutionEvent}s. Nothing
 * happens until subscription; unsubscribing cancels. Each node starts as soon as the ports it
 * reads have values, so independent branches overlap; a failure only stops its descendants.
 */
export function executeRun(plan: RunPlan, services: ExecutorServices, options: RunOptions & { seed: number; runId: string; outDir: string; graphName?: string; graph?: Readonly<GraphDocument> }): Observable<ExecutionEvent> {
  return new Observable<ExecutionEvent>((subscriber) => {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal); // every running async node listens for cancellation
    const onExternalAbort = () => controller.abort(new RunCancelled());
    if (options.signal?.aborted) onExternalAbort();
    options.signal?.addEventListener('abort', onExternalAbort, { once: true });
    const t0 = performance.now();
    let seq = 0;
    const emit = (event: Record<string, unknown> & { type: ExecutionEvent['type'] }) => {
      if (subscriber.closed) return;
      subscriber.next({ ...event, runId: options.runId, seq: seq++, t: Math.round((performance.now() - t0) * 1000) / 1000 } as unknown as ExecutionEvent);
    };
    new RunState(plan, services, options, controller.signal, emit, t0).drive().then(
      () => subscriber.complete(),
      (error) => subscriber.error(error),
    );
    return () => {
      options.signal?.removeEventListener('abort', onExternalAbort);
      controller.abort(new RunCancelled());
    };
  });
}

class RunState {
  readonly #ports = new Map<string, Deferred<PortData>>();
  readonly #channels = new Map<string, Channel<unknown>>();
  /** `consumer\0port\0linkIndex` → reader index on the producer's channel. */
  readonly #readerIndex = new Map<string, number>();
  /** Keyed by node id (user text), so a Map: `__proto__` is just a name. */
  readonly #results = new Map<string, Record<string, unknown>>();
  readonly #errors: NodeErrorInfo[] = [];
  readonly #artifacts: ArtifactStore;
  readonly #contextHost: ContextHost;
  #running = 0;
  readonly #slotWaiters: (() => void)[] = [];

  constructor(
    readonly plan: RunPlan,
    readonly services: ExecutorServices,
    readonly options: RunOptions & { seed: number; runId: string; outDir: string; graphName?: string; graph?: Readonly<GraphDocument> },
    readonly signal: AbortSignal,
    readonly emit: (event: Record<string, unknown> & { type: ExecutionEvent['type'] }) => void,
    readonly t0: number,
  ) {
    this.#artifacts = new ArtifactStore(options.outDir);
    this.#contextHost = { emit: (e) => this.emit(e), logger: services.logger, signal, artifacts: this.#artifacts, get: (t) => services.get(t), ...(options.graph ? { graph: options.graph } : {}) };
    const nextReader = new Map<string, number>();
    for (const id of plan.order) {
      const node = plan.nodes.get(id)!;
      for (const port of Object.keys(node.def.outputs)) {
        const key = `${id}.${port}`;
        this.#ports.set(key, new Deferred<PortData>());
        if (plan.streamPorts.has(key)) this.#channels.set(key, new Channel(plan.readers.get(key) ?? 0, options.streamHighWater ?? 16));
      }
      for (const [port, links] of Object.entries(node.links)) {
        links.forEach((l, i) => {
          const key = `${l.node}.${l.output}`;
          const n = nextReader.get(key) ?? 0;
          nextReader.set(key, n + 1);
          this.#readerIndex.set(`${id}\0${port}\0${i}`, n);
        });
      }
    }
    signal.addEventListener('abort', () => {
      for (const ch of this.#channels.values()) ch.fail(new RunCancelled());
    }, { once: true });
  }

  async drive(): Promise<void> {
    const { plan, options } = this;
    this.emit({ type: 'run:start', seed: options.seed, graphName: options.graphName, nodes: plan.order, outDir: this.#artifacts.dir });
    for (const id of plan.order) this.emit({ type: 'node:queued', nodeId: id, nodeType: plan.nodes.get(id)!.def.type });
    const outcomes = await Promise.all(plan.order.map((id) => this.#runNode(plan.nodes.get(id)!)));
    const durationMs = performance.now() - this.t0;
    if (this.signal.aborted) this.emit({ type: 'run:cancelled', durationMs });
    else if (this.#errors.length || outcomes.includes('failed')) this.emit({ type: 'run:failed', durationMs, errors: this.#errors });
    else this.emit({ type: 'run:done', durationMs, results: Object.fromEntries(this.#results) });
  }

  async #runNode(node: PlannedNode): Promise<Outcome> {
    const nodeType = node.def.type;
    const base = { nodeId: node.id, nodeType };
    const finish = (outcome: Exclude<Outcome, 'done' | 'cached'>, reason: string, error?: unknown): Outcome => {
      const upstream = new UpstreamFailure(node.id, outcome === 'cancelled' ? 'cancelled' : outcome === 'failed' ? 'failed' : 'skipped');
      for (const port of Object.keys(node.def.outputs)) {
        this.#ports.get(`${node.id}.${port}`)!.reject(upstream);
        this.#channels.get(`${node.id}.${port}`)?.fail(upstream);
      }
      this.#releaseReaders(node);
      if (outcome === 'failed') this.emit({ type: 'node:error', ...base, error: error as NodeErrorInfo });
      else this.emit({ type: 'node:skipped', ...base, reason });
      return outcome;
    };

    if (node.disabled) return finish('skipped', 'disabled');

    // Wait for every port this node reads.
    const data: Record<string, PortData[]> = Object.create(null);
    try {
      for (const [port, links] of Object.entries(node.links)) {
        data[port] = await Promise.all(links.map((l) => this.#ports.get(`${l.node}.${l.output}`)!.promise));
      }
    } catch (error) {
      if (this.signal.aborted) return finish('cancelled', 'cancelled');
      const u = error as UpstreamFailure;
      return finish('skipped', `upstream node "${u.nodeId}" ${u.reason === 'cancelled' ? 'was cancelled' : u.reason}`);
    }
    if (this.signal.aborted) return finish('cancelled', 'cancelled');

    // Cache lookup.
    const streamsIn = Object.values(data).some((ds) => ds.some((d) => d.kind === 'stream'));
    const streamsOut = Object.keys(node.def.outputs).some((p) => this.plan.streamPorts.has(`${node.id}.${p}`));
    let key: string | undefined;
    if (this.options.useCache !== false && !streamsIn && !streamsOut && node.def.cache !== 'never') {
      key = await this.#cacheKey(node, data);
      if (key !== undefined) {
        const hit = this.services.cache.get(key, this.options.seed);
        if (hit) {
          this.emit({ type: 'node:cached', ...base });
          const effective = hit.seed !== undefined ? seededKey(key, hit.seed) : key;
          for (const port of Object.keys(node.def.outputs)) this.#ports.get(`${node.id}.${port}`)!.resolve({ kind: 'value', value: hit.outputs[port], key: effective });
          this.#noteResult(node, hit.outputs);
          this.emit({ type: 'node:output', ...base, outputs: hit.outputs });
          this.emit({ type: 'node:done', ...base, durationMs: 0, cached: true });
          return 'cached';
        }
      }
    }

    await this.#acquireSlot();
    const started = performance.now();
    let usedRng = false;
    try {
      if (this.signal.aborted) throw new RunCancelled();
      this.emit({ type: 'node:start', ...base });
      // Stream ports are live from the start so consumers can pull while this node produces.
      for (const port of Object.keys(node.def.outputs)) {
        const channel = this.#channels.get(`${node.id}.${port}`);
        if (channel) this.#ports.get(`${node.id}.${port}`)!.resolve({ kind: 'stream', channel });
      }
      if (this.signal.aborted) throw new RunCancelled(); // a listener may have cancelled on node:start
      if (node.mapped) {
        await this.#runMapped(node, data, () => (usedRng = true));
      } else {
        const inputs = this.#buildInputs(node, data);
        const ctx = this.#context(node, inputs, hashString32(`${this.options.seed}:${key ?? node.id}`), () => (usedRng = true));
        const result = node.def.execute(ctx);
        const iterable = toResultIterable(result, (this.options.streamHighWater ?? 16) * 64);
        let outputs: Record<string, unknown>;
        if (iterable) outputs = await this.#drainStream(node, iterable);
        else {
          outputs = checkOutputs(node, isPromiseLike(result) ? await raceAbort(Promise.resolve(result), this.signal) : result, this.options.checkPorts !== false);
          if (streamsOut) for (const [port, value] of Object.entries(outputs)) if (this.#channels.has(`${node.id}.${port}`)) await this.#channels.get(`${node.id}.${port}`)!.push(value);
          this.emit({ type: 'node:output', ...base, outputs });
        }
        const effective = key !== undefined && usedRng ? seededKey(key, this.options.seed) : key;
        for (const port of Object.keys(node.def.outputs)) {
          const pk = `${node.id}.${port}`;
          if (!this.#channels.has(pk)) this.#ports.get(pk)!.resolve({ kind: 'value', value: outputs[port], key: effective });
        }
        if (key !== undefined) this.services.cache.set(key, outputs, usedRng ? this.options.seed : undefined);
        this.#noteResult(node, outputs);
      }
      for (const ch of this.#outChannels(node)) ch.close();
      this.#releaseReaders(node);
      this.emit({ type: 'node:done', ...base, durationMs: performance.now() - started, cached: false });
      return 'done';
    } catch (error) {
      if (this.signal.aborted) return finish('cancelled', 'cancelled');
      if (error instanceof UpstreamFailure) return finish('skipped', `upstream node "${error.nodeId}" ${error.reason}`);
      const info = this.#errorInfo(node, error, data);
      this.#errors.push(info);
      return finish('failed', info.message, info);
    } finally {
      this.#releaseSlot();
    }
  }

  /** Runs a node once per value of the streams on its plain inputs (zipped), streaming its outputs. */
  async #runMapped(node: PlannedNode, data: Record<string, PortData[]>, markRng: () => void): Promise<void> {
    const readers: { port: string; i: number; it: AsyncIterator<unknown> }[] = [];
    for (const [port, ds] of Object.entries(data)) {
      if (node.def.inputs[port]?.stream) continue;
      ds.forEach((d, i) => {
        if (d.kind === 'stream') readers.push({ port, i, it: d.channel.reader(this.#readerIndex.get(`${node.id}\0${port}\0${i}`)!) });
      });
    }
    const seed = hashString32(`${this.options.seed}:${node.id}`);
    for (let index = 0; ; index++) {
      const turn = this.#pace();
      if (turn) await turn;
      const values = await Promise.all(readers.map((r) => raceAbort(r.it.next(), this.signal)));
      if (values.some((v) => v.done)) break;
      const element: Record<string, PortData[]> = Object.create(null);
      for (const [port, ds] of Object.entries(data)) element[port] = [...ds];
      readers.forEach((r, k) => (element[r.port]![r.i] = { kind: 'value', value: values[k]!.value, key: undefined }));
      const ctx = this.#context(node, this.#buildInputs(node, element), hashString32(`${seed}:${index}`), markRng);
      const result = node.def.execute(ctx);
      const iterable = toResultIterable(result, (this.options.streamHighWater ?? 16) * 64);
      if (iterable) await this.#drainStream(node, iterable, index);
      else {
        const outputs = checkOutputs(node, isPromiseLike(result) ? await raceAbort(Promise.resolve(result), this.signal) : result, this.options.checkPorts !== false);
        for (const [port, value] of Object.entries(outputs)) await this.#channels.get(`${node.id}.${port}`)?.push(value);
        this.emit({ type: 'node:output', nodeId: node.id, nodeType: node.def.type, outputs, index });
      }
    }
  }

  /**
   * Consumes a streaming `execute` result: stream ports get each value as it comes, plain ports
   * keep the last value.
   */
  async #drainStream(node: PlannedNode, iterable: AsyncIterable<unknown>, mapIndex?: number): Promise<Record<string, unknown>> {
    const last = new Map<string, unknown>();
    const iterator = iterable[Symbol.asyncIterator]();
    let index = 0;
    try {
      for (;;) {
        const turn = this.#pace();
        if (turn) await turn;
        const step = await raceAbort(iterator.next(), this.signal);
        if (step.done) break;
        const partial = step.value;
        if (!partial || typeof partial !== 'object') throw new NodeContractError(`${node.def.type} streamed ${summarizeValue(partial)}; expected an object of output values`);
        checkOutputValues(node, partial as Record<string, unknown>, this.options.checkPorts !== false);
        for (const [port, value] of Object.entries(partial)) {
          const channel = this.#channels.get(`${node.id}.${port}`);
          if (channel) await raceAbort(channel.push(value), this.signal);
          last.set(port, value);
        }
        this.emit({ type: 'node:output', nodeId: node.id, nodeType: node.def.type, outputs: partial as Record<string, unknown>, index: mapIndex ?? index });
        index++;
      }
    } finally {
      if (this.signal.aborted) Promise.resolve(iterator.return?.()).catch(() => undefined);
    }
    for (const port of Object.keys(node.def.outputs)) {
      if (!this.#channels.has(`${node.id}.${port}`) && !last.has(port)) throw new NodeContractError(`${node.def.type} finished without a value for output "${port}"`);
    }
    return Object.fromEntries(last);
  }

  #buildInputs(node: PlannedNode, data: Record<string, PortData[]>): Record<string, unknown> {
    const inputs: Record<string, unknown> = {};
    for (const [port, spec] of Object.entries(node.def.inputs as Record<string, InputSpec>)) {
      const ds = data[port] ?? [];
      const values = ds.map((d, i) => {
        if (!spec.stream) return d.kind === 'value' ? d.value : undefined;
        if (d.kind === 'stream') return d.channel.reader(this.#readerIndex.get(`${node.id}\0${port}\0${i}`)!);
        return singleValue(d.value);
      });
      inputs[port] = spec.list ? values : values[0];
    }
    return inputs;
  }

  #context(node: PlannedNode, inputs: Record<string, unknown>, seed: number, markRng: () => void): ExecuteContext {
    return new NodeContext(this.#contextHost, node.id, node.def.type, inputs, node.params, seed, markRng);
  }

  async #cacheKey(node: PlannedNode, data: Record<string, PortData[]>): Promise<string | undefined> {
    const inputs: Record<string, string[]> = Object.create(null);
    for (const [port, ds] of Object.entries(data)) {
      const keys: string[] = [];
      for (const d of ds) {
        if (d.kind !== 'value' || d.key === undefined) return undefined;
        keys.push(d.key);
      }
      inputs[port] = keys;
    }
    let fingerprint: string | undefined;
    const policy = node.def.cache;
    if (policy && typeof policy === 'object') {
      try {
        fingerprint = String(await policy.fingerprint(node.params, { resolvePath: (path) => this.#contextHost.get(WORKSPACE).resolve(path, 'read') }));
      } catch (error) {
        // A fingerprint that throws forces a re-run (a missing file, say): worth a debug line only.
        this.#contextHost.logger.debug(`[${node.id}] cache fingerprint failed, running without the cache: ${(error as Error).message}`);
        return undefined;
      }
    }
    return cacheKey({ type: node.def.type, version: node.def.version, params: node.params, inputs, ...(fingerprint !== undefined ? { fingerprint } : {}) });
  }

  #noteResult(node: PlannedNode, outputs: Record<string, unknown>): void {
    if (this.plan.targets.includes(node.id)) this.#results.set(node.id, outputs);
  }

  #outChannels(node: PlannedNode): Channel<unknown>[] {
    return Object.keys(node.def.outputs).flatMap((p) => {
      const ch = this.#channels.get(`${node.id}.${p}`);
      return ch ? [ch] : [];
    });
  }

  /** A finished (or abandoned) consumer stops holding back the streams it read. */
  #releaseReaders(node: PlannedNode): void {
    for (const [port, links] of Object.entries(node.links)) {
      links.forEach((l, i) => this.#channels.get(`${l.node}.${l.output}`)?.release(this.#readerIndex.get(`${node.id}\0${port}\0${i}`)!));
    }
  }

  #errorInfo(node: PlannedNode, error: unknown, data: Record<string, PortData[]>): NodeErrorInfo {
    const e = error instanceof Error ? error : new Error(String(error));
    const inputs = Object.fromEntries(Object.entries(data).map(([port, ds]) => [port, ds.map((d) => (d.kind === 'stream' ? 'stream' : summarizeValue(d.value))).join(', ')]));
    return { nodeId: node.id, nodeType: node.def.type, name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}), inputs };
  }

  /**
   * Between stream values: waits while the event consumer asks for it, and otherwise hands the
   * event loop a turn every few milliseconds, so a stream whose values are always ready cannot
   * starve HTTP, timers and signals. Undefined (no await) when there is nothing to wait for.
   */
  #pace(): Promise<void> | undefined {
    const wait = this.options.backpressure?.();
    if (wait) return raceAbort(Promise.resolve(wait), this.signal);
    return eventLoopTurn();
  }

  async #acquireSlot(): Promise<void> {
    const limit = this.options.concurrency ?? Infinity;
    while (this.#running >= limit) await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
    this.#running++;
  }

  #releaseSlot(): void {
    this.#running--;
    this.#slotWaiters.shift()?.();
  }
}

function checkOutputs(node: PlannedNode, result: unknown, checkValues: boolean): Record<string, unknown> {
  const ports = Object.keys(node.def.outputs);
  if (ports.length === 0 && (result === undefined || result === null)) return {};
  if (!result || typeof result !== 'object' || Array.isArray(result)) {
    throw new NodeContractError(`${node.def.type} returned ${summarizeValue(result)}; expected an object with outputs ${ports.map((p) => `"${p}"`).join(', ')}`);
  }
  for (const port of ports) if (!(port in result)) throw new NodeContractError(`${node.def.type} returned no value for output "${port}"`);
  checkOutputValues(node, result as Record<string, unknown>, checkValues);
  return result as Record<string, unknown>;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

async function* singleValue(value: unknown): AsyncGenerator<unknown> {
  if (isAsyncIterable(value)) yield* value;
  else yield value;
}

/** Resolves with `promise`, or rejects as soon as `signal` aborts (the work itself may go on). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined); // the abandoned work may still reject; nobody waits for it
    return Promise.reject(new RunCancelled());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new RunCancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
