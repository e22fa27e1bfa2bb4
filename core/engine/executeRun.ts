import { Observable, type Subscriber } from 'rxjs';
import { setMaxListeners } from 'node:events';
import type { ServiceIdentifier } from 'inversify';
import type { RunPlan, PlannedNode } from './planRun.ts';
import type { ExecutionEvent, NodeErrorInfo } from './events.ts';
import type { NodeCache } from './NodeCache.ts';
import type { CachePolicy, ExecuteContext, InputSpec } from '../plugin/NodeDefinition.ts';
import type { GraphDocument } from '../graph/GraphDocument.ts';
import type { Logger } from '../services/Logger.ts';
import { ArtifactStore } from '../services/ArtifactStore.ts';
import { Channel } from './Channel.ts';
import { NodeContext, type ContextHost } from './NodeContext.ts';
import { PortSlot } from './PortSlot.ts';
import { cacheKey, providerKey, seededKey } from './cacheKey.ts';
import { hashString32 } from '../util/hash.ts';
import { summarizeValue } from '../util/summarizeValue.ts';
import { NodeContractError, RunCancelled, UpstreamFailure } from './errors.ts';
import { isAsyncIterable, isStreamResult, toResultIterable } from './toAsyncIterable.ts';
import { eventLoopTurn } from './eventLoopTurn.ts';
import { checkOutputValues } from './checkPorts.ts';
import { WORKSPACE } from '../plugin/tokens.ts';
import type { ExecutionScope, ScopedNode } from './ExecutionScope.ts';
import type { ProviderChoice } from '../graph/providers.ts';

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
  /**
   * Execution provider for the sessions the nodes open (a node's own `provider` pin wins; this
   * wins over the graph's `provider`). Absent: the graph's, else the process default (cpu).
   */
  readonly provider?: ProviderChoice;
  /**
   * Also write node warnings and errors (`ctx.log`) to the engine logger (default true, so a
   * server's log shows them); the CLI turns it off because it prints the events themselves.
   */
  readonly echoNodeLogs?: boolean;
}

/** What the executor needs from the engine. */
export interface ExecutorServices {
  readonly cache: NodeCache;
  readonly logger: Logger;
  /** Wrappers around every node call (EXECUTION_SCOPE bindings), outermost first. */
  readonly scopes?: readonly ExecutionScope[];
  get<T>(token: ServiceIdentifier<T>): T;
}

type PortData = { readonly kind: 'value'; readonly value: unknown; readonly key: string | undefined } | { readonly kind: 'stream'; readonly channel: Channel<unknown> };

type Outcome = 'done' | 'cached' | 'failed' | 'skipped' | 'cancelled';

/**
 * What a node read: per input port of its NodeRun (`run.inputs`, same order), one PortData per
 * link. An array rather than a record keyed by port name: a null-prototype record per node is a
 * dictionary-mode object, among the run's costlier allocations.
 */
type InputData = PortData[][];

/** The input ports of a NodeRun, as the functions that read InputData need them. */
type InputPorts = readonly { readonly port: string }[];

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
    new RunState(plan, services, options, controller.signal, subscriber, t0).drive().then(
      () => subscriber.complete(),
      (error) => subscriber.error(error),
    );
    return () => {
      options.signal?.removeEventListener('abort', onExternalAbort);
      controller.abort(new RunCancelled());
    };
  });
}

/**
 * One planned node's wiring in this run, resolved once so the per-node path does no string
 * building or map lookups: its output slots, the slots it reads, and how many of those are still
 * pending.
 */
interface NodeRun {
  readonly node: PlannedNode;
  /** Output ports in definition order, with their slots and (for stream ports) channels. */
  readonly outPorts: readonly string[];
  /** Index of its first output's slot in RunState's flat slot list (ports follow in order). */
  readonly outBase: number;
  readonly outChannels: readonly (Channel<unknown> | undefined)[];
  /** Input ports in link order, each with the slots of its links. */
  readonly inputs: readonly { readonly port: string; readonly slots: readonly PortSlot<PortData>[] }[];
  /** Reads a stream port (so it has channel readers to release when it ends). */
  readsStream: boolean;
  readonly streamsOut: boolean;
  readonly isTarget: boolean;
  /** Links whose slot has not settled yet; the node starts at 0 (or at a failure, see #settled). */
  waiting: number;
  started: boolean;
}

class RunState {
  readonly #channels = new Map<string, Channel<unknown>>();
  /** `consumer\0port\0linkIndex` → reader index on the producer's channel (stream links only). */
  readonly #readerIndex = new Map<string, number>();
  readonly #runs: NodeRun[] = [];
  /** Every output port's slot, node by node in run order (NodeRun.outBase). */
  readonly #slots: PortSlot<PortData>[] = [];
  /** The node runs reading slot k, once per link: #readers[#readersStart[k] .. #readersStart[k + 1]). */
  readonly #readers: readonly NodeRun[];
  readonly #readersStart: Int32Array;
  #finished = 0;
  #anyFailed = false;
  #allDone: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  #seq = 0;
  /** Keyed by node id (user text), so a Map: `__proto__` is just a name. */
  readonly #results = new Map<string, Record<string, unknown>>();
  readonly #errors: NodeErrorInfo[] = [];
  readonly #artifacts: ArtifactStore;
  readonly #contextHost: ContextHost;
  /** Shared by this run's scoped nodes (ScopedNode.group). */
  readonly #scopeGroup = {};
  #running = 0;
  /** Runs whose inputs have settled, waiting for their microtask turn (see #startNext). */
  readonly #toStart: NodeRun[] = [];
  #toStartHead = 0;
  readonly #slotWaiters: (() => void)[] = [];

  constructor(
    readonly plan: RunPlan,
    readonly services: ExecutorServices,
    readonly options: RunOptions & { seed: number; runId: string; outDir: string; graphName?: string; graph?: Readonly<GraphDocument> },
    readonly signal: AbortSignal,
    readonly subscriber: Subscriber<ExecutionEvent>,
    readonly t0: number,
  ) {
    this.#artifacts = new ArtifactStore(options.outDir);
    this.#contextHost = { emit: (e) => this.emit(e), logger: services.logger, ...(options.echoNodeLogs === false ? { echoNodeLogs: false } : {}), signal, artifacts: this.#artifacts, get: (t) => services.get(t), ...(options.graph ? { graph: options.graph } : {}) };
    const nextReader = new Map<string, number>();
    const targets = new Set(plan.targets);
    // Keyed by node id (user text), so a Map. Port keys (`id.port`) are built only where streams
    // are involved: a graph without any needs no string per link.
    const runOf = new Map<string, NodeRun>();
    const anyStream = plan.streamPorts.size > 0;
    // Who reads which slot, one entry per link, gathered in link order and then grouped by slot
    // (a stable counting sort) into #readers: flat lists instead of an array per port.
    const linkSlot: number[] = [];
    const linkReader: NodeRun[] = [];
    // Indexed loops: this runs once per run, mostly before the JIT optimizes it, and a for-of
    // there allocates an iterator result per step.
    for (let r = 0; r < plan.order.length; r++) {
      const id = plan.order[r]!;
      const node = plan.nodes.get(id)!;
      const outPorts = outputPorts(node.def);
      const outBase = this.#slots.length;
      // Without streams in the run, every node shares one empty list (any index reads undefined).
      const outChannels: (Channel<unknown> | undefined)[] = anyStream ? new Array(outPorts.length) : NO_CHANNELS;
      let streamsOut = false;
      for (let i = 0; i < outPorts.length; i++) {
        this.#slots.push(new PortSlot<PortData>());
        const key = anyStream ? `${id}.${outPorts[i]}` : undefined;
        if (key !== undefined && plan.streamPorts.has(key)) {
          const channel = new Channel(plan.readers.get(key) ?? 0, options.streamHighWater ?? 16);
          this.#channels.set(key, channel);
          outChannels[i] = channel;
          streamsOut = true;
        }
      }
      const inputs: { port: string; slots: PortSlot<PortData>[] }[] = new Array(node.inputs.length);
      const run: NodeRun = { node, outPorts, outBase, outChannels, inputs, readsStream: false, streamsOut, isTarget: targets.has(id), waiting: 0, started: false };
      let p = 0;
      for (let q = 0; q < node.inputs.length; q++) {
        const { port, links } = node.inputs[q]!;
        const slots: PortSlot<PortData>[] = new Array(links.length);
        for (let i = 0; i < links.length; i++) {
          const l = links[i]!;
          if (anyStream) {
            const key = `${l.node}.${l.output}`;
            if (plan.streamPorts.has(key)) {
              const n = nextReader.get(key) ?? 0;
              nextReader.set(key, n + 1);
              this.#readerIndex.set(`${id}\0${port}\0${i}`, n);
              run.readsStream = true;
            }
          }
          // Planned in topological order, so the producer's run exists already.
          const producer = runOf.get(l.node)!;
          const slot = producer.outBase + producer.outPorts.indexOf(l.output);
          slots[i] = this.#slots[slot]!;
          linkSlot.push(slot);
          linkReader.push(run);
          run.waiting++;
        }
        inputs[p++] = { port, slots };
      }
      runOf.set(id, run);
      this.#runs.push(run);
    }
    const start = new Int32Array(this.#slots.length + 1);
    for (let j = 0; j < linkSlot.length; j++) start[linkSlot[j]! + 1]!++;
    for (let k = 0; k < this.#slots.length; k++) start[k + 1]! += start[k]!;
    const fill = start.slice(0, this.#slots.length);
    const readers: NodeRun[] = new Array(linkSlot.length);
    for (let j = 0; j < linkSlot.length; j++) readers[fill[linkSlot[j]!]!++] = linkReader[j]!;
    this.#readers = readers;
    this.#readersStart = start;
    signal.addEventListener('abort', () => {
      for (const ch of this.#channels.values()) ch.fail(new RunCancelled());
    }, { once: true });
  }

  /** Stamps an event with run id, sequence number and time, and passes it on (unless unsubscribed). */
  emit(event: Record<string, unknown> & { type: ExecutionEvent['type'] }): void {
    if (this.subscriber.closed) return;
    this.subscriber.next({ ...event, runId: this.options.runId, seq: this.#seq++, t: this.#now() } as unknown as ExecutionEvent);
  }

  /**
   * The node events without extra fields, built in one literal (same keys, same order as
   * `emit`): four of them per node make this the executor's most frequent allocation.
   */
  #emitNode(type: 'node:queued' | 'node:start' | 'node:cached', node: PlannedNode): void {
    if (this.subscriber.closed) return;
    this.subscriber.next({ type, nodeId: node.id, nodeType: node.def.type, runId: this.options.runId, seq: this.#seq++, t: this.#now() } as ExecutionEvent);
  }

  /** node:done of a node that executed (same keys and order as `emit` would give). */
  #emitDone(node: PlannedNode, durationMs: number): void {
    if (this.subscriber.closed) return;
    this.subscriber.next({ type: 'node:done', nodeId: node.id, nodeType: node.def.type, durationMs, cached: false, runId: this.options.runId, seq: this.#seq++, t: this.#now() });
  }

  /** node:output of a whole (not streamed) result. */
  #emitOutput(node: PlannedNode, outputs: Readonly<Record<string, unknown>>): void {
    if (this.subscriber.closed) return;
    this.subscriber.next({ type: 'node:output', nodeId: node.id, nodeType: node.def.type, outputs, runId: this.options.runId, seq: this.#seq++, t: this.#now() });
  }

  #now(): number {
    return Math.round((performance.now() - this.t0) * 1000) / 1000;
  }

  /**
   * Emits run:start and every node:queued, then starts each node once the ports it reads have
   * settled (see #settled), and ends with one terminal event when all nodes have finished.
   */
  async drive(): Promise<void> {
    const { plan, options } = this;
    this.emit({ type: 'run:start', seed: options.seed, graphName: options.graphName, nodes: plan.order, outDir: this.#artifacts.dir });
    for (const run of this.#runs) this.#emitNode('node:queued', run.node);
    const allDone = new Promise<void>((resolve, reject) => (this.#allDone = { resolve, reject }));
    if (this.#runs.length === 0) this.#allDone!.resolve();
    // A disabled node is skipped at once, without waiting for its inputs.
    for (const run of this.#runs) if (!run.started && (run.waiting === 0 || run.node.disabled)) this.#start(run);
    await allDone;
    const durationMs = performance.now() - this.t0;
    if (this.signal.aborted) this.emit({ type: 'run:cancelled', durationMs });
    else if (this.#errors.length || this.#anyFailed) this.emit({ type: 'run:failed', durationMs, errors: this.#errors });
    else this.emit({ type: 'run:done', durationMs, results: Object.fromEntries(this.#results) });
  }

  #start(run: NodeRun): void {
    run.started = true;
    let outcome: Outcome | Promise<Outcome>;
    try {
      outcome = this.#runNode(run);
    } catch (error) {
      this.#crashed(error);
      return;
    }
    if (typeof outcome === 'string') this.#nodeEnded(outcome);
    else outcome.then(this.#nodeEnded, this.#crashed);
  }

  /**
   * Starts the oldest run in #toStart. Each push there schedules exactly one call, so runs start
   * in the order and at the microtask turns a closure per run would give, without one (Node's
   * queueMicrotask also makes an AsyncResource per call).
   */
  readonly #startNext = (): void => {
    const run = this.#toStart[this.#toStartHead]!;
    this.#toStart[this.#toStartHead++] = undefined as never;
    if (this.#toStartHead === this.#toStart.length) this.#toStart.length = this.#toStartHead = 0;
    this.#start(run);
  };

  // Made once per run, not twice per node.
  readonly #nodeEnded = (outcome: Outcome): void => {
    if (outcome === 'failed') this.#anyFailed = true;
    if (++this.#finished === this.#runs.length) this.#allDone!.resolve();
  };
  readonly #crashed = (error: unknown): void => this.#allDone!.reject(error);

  #resolvePort(run: NodeRun, i: number, data: PortData): void {
    if (this.#slots[run.outBase + i]!.resolve(data)) this.#settled(run.outBase + i, false);
  }

  #rejectPort(run: NodeRun, i: number, error: unknown): void {
    if (this.#slots[run.outBase + i]!.reject(error)) this.#settled(run.outBase + i, true);
  }

  /**
   * A port settled: its readers that now have every input start, and so does any reader of a
   * failed port, which then skips (or waits, in port order, exactly as awaiting its inputs
   * would). Started on a microtask, so a long chain of synchronous nodes never nests calls.
   */
  #settled(slot: number, failed: boolean): void {
    const readers = this.#readers;
    for (let j = this.#readersStart[slot]!, end = this.#readersStart[slot + 1]!; j < end; j++) {
      const run = readers[j]!;
      if (run.started || run.node.disabled) continue; // drive() starts disabled nodes itself
      if (--run.waiting === 0 || failed) {
        run.started = true;
        this.#toStart.push(run);
        RESOLVED.then(this.#startNext);
      }
    }
  }

  /**
   * Ends a node that did not produce: its ports fail (so readers skip), its stream readers are
   * released, and one node:error or node:skipped is emitted. A method, not a closure per node.
   */
  #finish(run: NodeRun, outcome: Exclude<Outcome, 'done' | 'cached'>, reason: string, error?: unknown): Outcome {
    const { node } = run;
    const upstream = new UpstreamFailure(node.id, outcome === 'cancelled' ? 'cancelled' : outcome === 'failed' ? 'failed' : 'skipped');
    for (let i = 0; i < run.outPorts.length; i++) {
      this.#rejectPort(run, i, upstream);
      run.outChannels[i]?.fail(upstream);
    }
    this.#releaseReaders(run);
    if (outcome === 'failed') this.emit({ type: 'node:error', nodeId: node.id, nodeType: node.def.type, error: error as NodeErrorInfo });
    else this.emit({ type: 'node:skipped', nodeId: node.id, nodeType: node.def.type, reason });
    return outcome;
  }

  /**
   * Runs one node. Synchronous from start to end for the usual node (every input settled, a key
   * without a fingerprint, a free slot, a plain result); it returns a promise only where it has
   * to wait. An async function here would allocate a frame and a promise per node.
   */
  #runNode(run: NodeRun): Outcome | Promise<Outcome> {
    const { node } = run;
    if (node.disabled) return this.#finish(run, 'skipped', 'disabled');
    const ports = run.inputs;
    for (let k = 0; k < ports.length; k++) {
      const { slots } = ports[k]!;
      for (let i = 0; i < slots.length; i++) if (!slots[i]!.settled) return this.#awaitInputs(run);
    }
    const data: InputData = new Array(ports.length);
    try {
      for (let k = 0; k < ports.length; k++) {
        const { slots } = ports[k]!;
        const values: PortData[] = new Array(slots.length);
        for (let i = 0; i < slots.length; i++) values[i] = slots[i]!.read();
        data[k] = values;
      }
    } catch (error) {
      return this.#inputFailed(run, error);
    }
    return this.#withInputs(run, data);
  }

  /**
   * Reads the inputs of a node started before all of them settled (one of its sources failed
   * while others still run): settled ports directly, pending ones by awaiting, port by port,
   * which reports the same failure.
   */
  async #awaitInputs(run: NodeRun): Promise<Outcome> {
    const data: InputData = new Array(run.inputs.length);
    try {
      for (let k = 0; k < run.inputs.length; k++) {
        const { slots } = run.inputs[k]!;
        let ready = true;
        for (let i = 0; i < slots.length; i++) if (!slots[i]!.settled) ready = false;
        if (ready) {
          const values: PortData[] = new Array(slots.length);
          for (let i = 0; i < slots.length; i++) values[i] = slots[i]!.read();
          data[k] = values;
        } else {
          data[k] = await Promise.all(slots.map((slot) => slot.promise));
        }
      }
    } catch (error) {
      return this.#inputFailed(run, error);
    }
    return this.#withInputs(run, data);
  }

  #inputFailed(run: NodeRun, error: unknown): Outcome {
    if (this.signal.aborted) return this.#finish(run, 'cancelled', 'cancelled');
    const u = error as UpstreamFailure;
    return this.#finish(run, 'skipped', `upstream node "${u.nodeId}" ${u.reason === 'cancelled' ? 'was cancelled' : u.reason}`);
  }

  /** With every input read: the cache key (awaited only for a fingerprint), then the lookup. */
  #withInputs(run: NodeRun, data: InputData): Outcome | Promise<Outcome> {
    if (this.signal.aborted) return this.#finish(run, 'cancelled', 'cancelled');
    const { node } = run;
    const streamsIn = run.readsStream && data.some((ds) => ds.some((d) => d.kind === 'stream'));
    if (this.options.useCache === false || streamsIn || run.streamsOut || node.def.cache === 'never') return this.#withKey(run, data, undefined);
    const key = this.#cacheKey(node, run.inputs, data);
    return isPromiseLike(key) ? Promise.resolve(key).then((k) => this.#withKey(run, data, k)) : this.#withKey(run, data, key);
  }

  /** A cache hit ends the node here; otherwise it executes once it has a slot. */
  #withKey(run: NodeRun, data: InputData, key: string | undefined): Outcome | Promise<Outcome> {
    const { node } = run;
    if (key !== undefined) {
      const hit = this.services.cache.get(this.#storeKey(node, key), this.options.seed);
      if (hit) {
        this.#emitNode('node:cached', node);
        const effective = hit.seed !== undefined ? seededKey(key, hit.seed) : key;
        for (let i = 0; i < run.outPorts.length; i++) this.#resolvePort(run, i, { kind: 'value', value: hit.outputs[run.outPorts[i]!], key: effective });
        this.#noteResult(run, hit.outputs);
        this.emit({ type: 'node:output', nodeId: node.id, nodeType: node.def.type, outputs: hit.outputs });
        this.emit({ type: 'node:done', nodeId: node.id, nodeType: node.def.type, durationMs: 0, cached: true });
        return 'cached';
      }
    }
    if (this.#takeSlot()) return this.#execute(run, data, key);
    return this.#acquireSlot().then(() => this.#execute(run, data, key));
  }

  /**
   * Executes a node holding an execution slot, and releases it when the node ends. Whatever has
   * to wait (a promised or streamed result, stream ports, a mapped node) goes on in #executeAsync.
   */
  #execute(run: NodeRun, data: InputData, key: string | undefined): Outcome | Promise<Outcome> {
    const { node } = run;
    const started = performance.now();
    let async = false;
    try {
      if (this.signal.aborted) throw new RunCancelled();
      this.#emitNode('node:start', node);
      // Stream ports are live from the start so consumers can pull while this node produces.
      if (run.streamsOut) {
        for (let i = 0; i < run.outPorts.length; i++) {
          const channel = run.outChannels[i];
          if (channel) this.#resolvePort(run, i, { kind: 'stream', channel });
        }
      }
      if (this.signal.aborted) throw new RunCancelled(); // a listener may have cancelled on node:start
      if (node.mapped) {
        async = true;
        return this.#executeAsync(run, data, key, started, undefined, undefined);
      }
      const ctx = this.#context(node, this.#buildInputs(node, run.inputs, data), this.options.seed, key ?? node.id);
      const scoped = this.#scopedNode(node, ctx);
      const result = scoped ? this.#inScope(scoped, () => node.def.execute(ctx)) : node.def.execute(ctx);
      if (run.streamsOut || isPromiseLike(result) || isStreamResult(result)) {
        async = true;
        return this.#executeAsync(run, data, key, started, { ctx, scoped }, result);
      }
      const outputs = checkOutputs(node, result, this.options.checkPorts !== false);
      this.#emitOutput(node, outputs);
      return this.#produced(run, key, outputs, ctx.drewRng, started);
    } catch (error) {
      return this.#failed(run, error, data);
    } finally {
      if (!async) this.#releaseSlot();
    }
  }

  /** The rest of #execute for a node that has to wait; releases the slot at the end. */
  async #executeAsync(run: NodeRun, data: InputData, key: string | undefined, started: number, call: { ctx: NodeContext; scoped: ScopedNode | undefined } | undefined, result: unknown): Promise<Outcome> {
    const { node } = run;
    try {
      if (!call) {
        await this.#runMapped(node, run.inputs, data);
        return this.#produced(run, key, undefined, false, started);
      }
      const iterable = toResultIterable(result, (this.options.streamHighWater ?? 16) * 64);
      let outputs: Record<string, unknown>;
      if (iterable) outputs = await this.#drainStream(node, iterable, undefined, call.scoped);
      else {
        outputs = checkOutputs(node, isPromiseLike(result) ? await raceAbort(Promise.resolve(result), this.signal) : result, this.options.checkPorts !== false);
        if (run.streamsOut) for (const [port, value] of Object.entries(outputs)) if (this.#channels.has(`${node.id}.${port}`)) await this.#channels.get(`${node.id}.${port}`)!.push(value);
        this.#emitOutput(node, outputs);
      }
      return this.#produced(run, key, outputs, call.ctx.drewRng, started);
    } catch (error) {
      return this.#failed(run, error, data);
    } finally {
      this.#releaseSlot();
    }
  }

  /**
   * A node produced: its value ports resolve (keyed by its cache key, seeded if it drew random
   * numbers), the result is cached and noted, its streams close, and node:done is emitted.
   * `outputs` is undefined for a mapped node, whose outputs are all streams.
   */
  #produced(run: NodeRun, key: string | undefined, outputs: Record<string, unknown> | undefined, usedRng: boolean, started: number): Outcome {
    const { node } = run;
    if (outputs) {
      const effective = key !== undefined && usedRng ? seededKey(key, this.options.seed) : key;
      for (let i = 0; i < run.outPorts.length; i++) {
        if (!run.outChannels[i]) this.#resolvePort(run, i, { kind: 'value', value: outputs[run.outPorts[i]!], key: effective });
      }
      if (key !== undefined) this.services.cache.set(this.#storeKey(node, key), outputs, usedRng ? this.options.seed : undefined);
      this.#noteResult(run, outputs);
    }
    if (run.streamsOut) for (const ch of run.outChannels) ch?.close();
    this.#releaseReaders(run);
    this.#emitDone(node, performance.now() - started);
    return 'done';
  }

  /** A node threw (or was cancelled, or met a failed stream upstream). */
  #failed(run: NodeRun, error: unknown, data: InputData): Outcome {
    if (this.signal.aborted) return this.#finish(run, 'cancelled', 'cancelled');
    if (error instanceof UpstreamFailure) return this.#finish(run, 'skipped', `upstream node "${error.nodeId}" ${error.reason}`);
    const info = this.#errorInfo(run.node, error, run.inputs, data);
    this.#errors.push(info);
    return this.#finish(run, 'failed', info.message, info);
  }

  /** Runs a node once per value of the streams on its plain inputs (zipped), streaming its outputs. */
  async #runMapped(node: PlannedNode, ports: InputPorts, data: InputData): Promise<void> {
    const readers: { k: number; i: number; it: AsyncIterator<unknown> }[] = [];
    data.forEach((ds, k) => {
      const { port } = ports[k]!;
      if (node.def.inputs[port]?.stream) return;
      ds.forEach((d, i) => {
        if (d.kind === 'stream') readers.push({ k, i, it: d.channel.reader(this.#readerIndex.get(`${node.id}\0${port}\0${i}`)!) });
      });
    });
    const seed = hashString32(`${this.options.seed}:${node.id}`);
    for (let index = 0; ; index++) {
      const turn = this.#pace();
      if (turn) await turn;
      const values = await Promise.all(readers.map((r) => raceAbort(r.it.next(), this.signal)));
      if (values.some((v) => v.done)) break;
      const element: InputData = data.map((ds) => [...ds]);
      readers.forEach((r, j) => (element[r.k]![r.i] = { kind: 'value', value: values[j]!.value, key: undefined }));
      const ctx = this.#context(node, this.#buildInputs(node, ports, element), seed, index);
      const scoped = this.#scopedNode(node, ctx);
      const result = scoped ? this.#inScope(scoped, () => node.def.execute(ctx)) : node.def.execute(ctx);
      const iterable = toResultIterable(result, (this.options.streamHighWater ?? 16) * 64);
      if (iterable) await this.#drainStream(node, iterable, index, scoped);
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
  async #drainStream(node: PlannedNode, iterable: AsyncIterable<unknown>, mapIndex?: number, scoped?: ScopedNode): Promise<Record<string, unknown>> {
    const last = new Map<string, unknown>();
    const iterator = iterable[Symbol.asyncIterator]();
    let index = 0;
    try {
      for (;;) {
        const turn = this.#pace();
        if (turn) await turn;
        // A generator's body runs in whoever calls next(): give it the node's scope each time.
        const step = await raceAbort(scoped ? this.#inScope(scoped, () => iterator.next()) : iterator.next(), this.signal);
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

  #buildInputs(node: PlannedNode, ports: InputPorts, data: InputData): Record<string, unknown> {
    const inputs: Record<string, unknown> = {};
    const specs = node.def.inputs as Record<string, InputSpec>;
    // Port names are the definition's own keys (not the file's), so a plain object is fine.
    for (const port in specs) {
      const spec = specs[port]!;
      let ds: PortData[] | undefined;
      for (let k = 0; k < ports.length; k++) if (ports[k]!.port === port) ds = data[k];
      const count = ds ? ds.length : 0;
      const values: unknown[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const d = ds![i]!;
        if (!spec.stream) values[i] = d.kind === 'value' ? d.value : undefined;
        else if (d.kind === 'stream') values[i] = d.channel.reader(this.#readerIndex.get(`${node.id}\0${port}\0${i}`)!);
        else values[i] = singleValue(d.value);
      }
      inputs[port] = spec.list ? values : values[0];
    }
    return inputs;
  }

  /** The node's effective provider: its own pin, else the run's, else the graph's. */
  #providerOf(node: PlannedNode): ProviderChoice | undefined {
    return node.provider ?? this.options.provider ?? this.options.graph?.provider;
  }

  /** What the bound execution scopes see of this node call; undefined when none is bound. */
  #scopedNode(node: PlannedNode, ctx: ExecuteContext): ScopedNode | undefined {
    if (!this.services.scopes?.length) return undefined;
    return { runId: this.options.runId, nodeId: node.id, nodeType: node.def.type, provider: this.#providerOf(node), group: this.#scopeGroup, warn: (message, fields) => ctx.log.warn(message, fields as Record<string, unknown> | undefined) };
  }

  /** Calls `fn` inside every bound execution scope (outermost first); plain call when none is bound. */
  #inScope<T>(scoped: ScopedNode, fn: () => T): T {
    const scopes = this.services.scopes;
    if (!scopes?.length) return fn();
    let call = fn;
    for (let i = scopes.length - 1; i >= 0; i--) {
      const inner = call;
      const scope = scopes[i]!;
      call = () => scope.run(scoped, inner);
    }
    return call();
  }

  /** The node's ctx; its rng seed is hashString32(`${seedBase}:${seedKey}`), worked out on first use. */
  #context(node: PlannedNode, inputs: Record<string, unknown>, seedBase: number, seedKey: string | number): NodeContext {
    return new NodeContext(this.#contextHost, node.id, node.def.type, inputs, node.params, seedBase, seedKey);
  }

  /** The node's cache key, or undefined when an input has none; a promise only for a fingerprint. */
  #cacheKey(node: PlannedNode, ports: InputPorts, data: InputData): string | undefined | Promise<string | undefined> {
    const inputs: Record<string, string[]> = Object.create(null);
    for (let k = 0; k < data.length; k++) {
      const keys: string[] = [];
      for (const d of data[k]!) {
        if (d.kind !== 'value' || d.key === undefined) return undefined;
        keys.push(d.key);
      }
      inputs[ports[k]!.port] = keys;
    }
    const policy = node.def.cache;
    if (policy && typeof policy === 'object') return this.#fingerprintedKey(node, policy, inputs);
    return cacheKey({ type: node.def.type, version: node.def.version, params: node.params, inputs });
  }

  async #fingerprintedKey(node: PlannedNode, policy: Extract<CachePolicy, object>, inputs: Record<string, string[]>): Promise<string | undefined> {
    let fingerprint: string;
    try {
      fingerprint = String(await policy.fingerprint(node.params, { resolvePath: (path) => this.#contextHost.get(WORKSPACE).resolve(path, 'read') }));
    } catch (error) {
      // A fingerprint that throws forces a re-run (a missing file, say): worth a debug line only.
      this.#contextHost.logger.debug(`[${node.id}] cache fingerprint failed, running without the cache: ${(error as Error).message}`);
      return undefined;
    }
    return cacheKey({ type: node.def.type, version: node.def.version, params: node.params, inputs, fingerprint });
  }

  /**
   * Where the node's result is stored in the cache: its key, specialised to a set provider (float
   * results differ by provider, so a cpu result is not reused for webgpu). Only the entry: the
   * key itself — which seeds the node's rng and its downstream keys — stays provider-free, so
   * setting `provider: cpu` changes no random draw.
   */
  #storeKey(node: PlannedNode, key: string): string {
    const provider = this.#providerOf(node);
    return provider === undefined ? key : providerKey(key, provider);
  }

  #noteResult(run: NodeRun, outputs: Record<string, unknown>): void {
    if (run.isTarget) this.#results.set(run.node.id, outputs);
  }

  /** A finished (or abandoned) consumer stops holding back the streams it read. */
  #releaseReaders(run: NodeRun): void {
    if (!run.readsStream) return;
    const { node } = run;
    for (const { port, links } of node.inputs) {
      links.forEach((l, i) => this.#channels.get(`${l.node}.${l.output}`)?.release(this.#readerIndex.get(`${node.id}\0${port}\0${i}`)!));
    }
  }

  #errorInfo(node: PlannedNode, error: unknown, ports: InputPorts, data: InputData): NodeErrorInfo {
    const e = error instanceof Error ? error : new Error(String(error));
    const inputs = Object.fromEntries(data.map((ds, k) => [ports[k]!.port, ds.map((d) => (d.kind === 'stream' ? 'stream' : summarizeValue(d.value))).join(', ')]));
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

  /** Takes an execution slot if one is free now (the usual case: no await). */
  #takeSlot(): boolean {
    if (this.#running >= (this.options.concurrency ?? Infinity)) return false;
    this.#running++;
    return true;
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
  const ports = outputPorts(node.def);
  if (ports.length === 0 && (result === undefined || result === null)) return {};
  if (!result || typeof result !== 'object' || Array.isArray(result)) {
    throw new NodeContractError(`${node.def.type} returned ${summarizeValue(result)}; expected an object with outputs ${ports.map((p) => `"${p}"`).join(', ')}`);
  }
  for (const port of ports) if (!(port in result)) throw new NodeContractError(`${node.def.type} returned no value for output "${port}"`);
  checkOutputValues(node, result as Record<string, unknown>, checkValues);
  return result as Record<string, unknown>;
}

const RESOLVED = Promise.resolve();
const NO_CHANNELS = Object.freeze([]) as unknown as (Channel<unknown> | undefined)[];

/** A definition's output port names, listed once per definition (definitions don't change). */
function outputPorts(def: PlannedNode['def']): readonly string[] {
  let ports = outputPortsOf.get(def);
  if (!ports) outputPortsOf.set(def, (ports = Object.freeze(Object.keys(def.outputs))));
  return ports;
}
const outputPortsOf = new WeakMap<PlannedNode['def'], readonly string[]>();

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
