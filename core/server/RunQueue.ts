import { join } from 'node:path';
import type { ProviderChoice } from '../graph/providers.ts';
import type { Subscription } from 'rxjs';
import type { Engine } from '../engine/Engine.ts';
import { isTerminalEvent, type ExecutionEvent } from '../engine/events.ts';
import type { NodeErrorInfo, NodeState, PreviewMessage, RunInfo, RunStatus, ServerMessage as WireServerMessage } from '../wire/runs.ts';
import type { GraphDocument } from '../graph/GraphDocument.ts';
import { toWireValue } from '../util/summarizeValue.ts';
import { RECORD_FILES } from '../records/recordFiles.ts';
import { readEventLines } from '../records/readEvents.ts';
import { listRunRecords } from '../records/readRunRecord.ts';
import { RunRecordWriter } from '../records/RunRecordWriter.ts';
import { PreviewThrottle } from './PreviewThrottle.ts';
import { ReplayBuffer, readReplay, seqOf } from './ReplayBuffer.ts';
import { newRunId, RUN_ID_PATTERN } from './runId.ts';
import { recordOf, runInfoOf } from './runInfo.ts';
import { inProcessBackend, runChoices, type RunBackend } from './RunBackend.ts';

export type { NodeState, PreviewMessage, RunInfo, RunStatus };
export { RUN_ID_PATTERN };
/** A message on the WebSocket stream, as the server holds it (events not yet typed). */
export type ServerMessage = WireServerMessage<Record<string, unknown>>;

/** What a client may ask of one run. */
export interface RunRequest {
  readonly graph: GraphDocument;
  readonly seed?: number;
  /** Execution provider for the run's nodes (a node's own pin wins; absent: the graph's, else cpu). */
  readonly provider?: ProviderChoice;
  readonly targets?: readonly string[];
  readonly useCache?: boolean;
  /** Shown in listings; usually the graph's file name. */
  readonly label?: string;
}

interface RunEntry {
  readonly id: string;
  readonly request: RunRequest;
  readonly dir: string;
  readonly createdAt: Date;
  status: RunStatus;
  startedAt?: Date;
  finishedAt?: Date;
  durationMs?: number;
  /** What memory keeps of the events (all of them are in events.jsonl). */
  readonly replay: ReplayBuffer;
  readonly nodes: Map<string, NodeState>;
  /** graph.json, run.json and events.jsonl. */
  readonly record: RunRecordWriter;
  errors?: readonly NodeErrorInfo[];
  controller?: AbortController;
  subscription?: Subscription;
  /** Set when a limit stopped the run: the run ends failed with this error. */
  limit?: NodeErrorInfo;
  wallTimer?: NodeJS.Timeout;
  readonly previews: PreviewThrottle;
  /** Live events held back until the next tick (latest wins), by `type\0nodeId`. */
  readonly live: Map<string, Record<string, unknown>>;
  liveTimer?: NodeJS.Timeout;
  liveWindow: number;
  liveBudget: number;
}

/** Per-run limits (0 or absent: none). */
export interface RunLimits {
  /** Wall time from start; a run past it ends failed. */
  readonly runTimeoutMs?: number;
  /**
   * Process RSS (MiB) above which the running runs are stopped, as failed. Runs share the
   * server process, so this is a process-level watchdog: it stops whatever is running when the
   * process as a whole grows past the limit.
   */
  readonly runMemoryMb?: number;
}

/** Options of a {@link RunQueue}. */
export interface RunQueueOptions extends RunLimits {
  readonly engine: Engine;
  /** Each run writes into `<runsDir>/<runId>/`. */
  readonly runsDir: string;
  /** Runs executed at once (default 1, like ComfyUI's single worker). */
  readonly concurrency?: number;
  /** Finished runs kept in memory; older ones are still listed and read from disk. */
  readonly keepInMemory?: number;
  /** Where runs execute (default: this process's engine). */
  readonly backend?: RunBackend;
  /** Told once a finished run's record is written (or its write failed): `serve --artifacts` uploads the run then. */
  readonly onRecorded?: (runId: string, dir: string) => void;
}

/** Most events one {@link RunQueue.events} call returns; page with `since`. */
export const EVENTS_PAGE = 10_000;
/** Live fan-out tick, and the events per run per tick sent as they happen (see #live). */
const LIVE_TICK_MS = 100;
const LIVE_BUDGET = 200;
const WATCHDOG_MS = 250;
const FINISHED_TAIL_EVENTS = 100;

/**
 * The server's run queue: runs are executed in submission order, `concurrency` at a time, and
 * are independent of the HTTP requests and sockets that asked for or watch them.
 *
 * Memory stays bounded whatever a run emits: every event is appended to `<run>/events.jsonl`
 * as it happens (the run waits when the disk falls behind), while memory holds the last
 * events plus the latest event of each type per node ({@link ReplayBuffer}), enough for a late
 * client to replay the state of every node. Past a few hundred events per tick, live clients
 * get node:output, node:progress and node:log coalesced per node per tick. The record
 * (core/records: graph.json, run.json when a run is queued, starts and ends, events.jsonl) is
 * written by a RunRecordWriter, the CLI's too, so a run found unfinished after a restart is
 * listed as `interrupted`. Previews are throttled by a {@link PreviewThrottle} per run.
 */
export class RunQueue {
  readonly #engine: Engine;
  readonly #backend: RunBackend;
  readonly #runsDir: string;
  #concurrency: number;
  readonly #keep: number;
  #limits: RunLimits;
  #watchdog: NodeJS.Timeout | undefined;
  readonly #runs = new Map<string, RunEntry>();
  readonly #pending: RunEntry[] = [];
  readonly #running = new Set<RunEntry>();
  readonly #listeners = new Set<(m: ServerMessage) => void>();
  readonly #finishing = new Set<Promise<void>>();
  readonly #onRecorded: ((runId: string, dir: string) => void) | undefined;
  /** Runs found on disk from earlier server sessions (summaries only). */
  #onDisk: RunInfo[] = [];

  constructor(options: RunQueueOptions) {
    this.#engine = options.engine;
    this.#backend = options.backend ?? inProcessBackend(options.engine);
    this.#runsDir = options.runsDir;
    this.#concurrency = Math.max(1, this.#backend.capacity ?? options.concurrency ?? 1);
    this.#keep = options.keepInMemory ?? 200;
    this.#onRecorded = options.onRecorded;
    this.#limits = { runTimeoutMs: options.runTimeoutMs, runMemoryMb: options.runMemoryMb };
  }

  get runsDir(): string {
    return this.#runsDir;
  }

  /** The limits applied to runs that start from now on (the memory watchdog applies at once). */
  get limits(): RunLimits {
    return this.#limits;
  }

  set limits(limits: RunLimits) {
    this.#limits = { ...limits };
    this.#watch();
  }

  /**
   * Reads the summaries of runs recorded by earlier sessions, so the history survives restarts.
   * A run whose record says queued or running, and whose events do not end it, was cut short
   * by the server stopping: it is listed (and its run.json rewritten) as `interrupted`.
   */
  async loadHistory(): Promise<void> {
    // Runs of `tessera run` are listed too (same record), under their folder name.
    const records = await listRunRecords(this.#runsDir, (name) => RUN_ID_PATTERN.test(name) && !this.#runs.has(name), this.#engine.logger);
    this.#onDisk = records.map(({ name, record }) => runInfoOf(name, record)).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** Subscribes to every message of every run; returns the unsubscribe function. */
  onMessage(listener: (m: ServerMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Queues a run (already validated by the caller) and returns its id. */
  enqueue(request: RunRequest): RunInfo {
    const id = newRunId();
    const dir = join(this.#runsDir, id);
    const logger = this.#engine.logger;
    const record = new RunRecordWriter(dir, {
      // The run goes on without its event record (its live clients still see everything).
      onError: (error) => logger.warn(`run ${id}: events.jsonl cannot be written (${error.message}); later events are not recorded`),
    });
    const entry: RunEntry = {
      id, request, dir, createdAt: new Date(), status: 'queued',
      replay: new ReplayBuffer(), nodes: new Map(), record,
      previews: new PreviewThrottle(id, dir, (m) => this.#broadcast(m), logger), live: new Map(), liveWindow: 0, liveBudget: LIVE_BUDGET,
    };
    this.#runs.set(id, entry);
    // The graph, then a record saying queued: a server killed now still lists the run.
    this.#persist(entry, entry.record.begin(request.graph, () => this.#record(entry)));
    this.#pending.push(entry);
    this.#emitRun(entry);
    this.#pump();
    return this.#info(entry);
  }

  /** Every run, newest first. */
  list(): RunInfo[] {
    const live = [...this.#runs.values()].map((e) => this.#info(e)).reverse();
    return [...live, ...this.#onDisk.filter((r) => !this.#runs.has(r.id))];
  }

  get(id: string): RunInfo | undefined {
    const e = this.#runs.get(id);
    if (e) return this.#info(e);
    return this.#onDisk.find((r) => r.id === id);
  }

  /**
   * What a client joining a run held in memory is replayed, synchronously (so a replay cannot
   * miss a live event): run:start, the latest event of each type per node that the tail has
   * moved past, then the tail, in `seq` order. Events held back for the next live tick are sent
   * first, so they are not delivered twice.
   */
  eventsInMemory(id: string): Record<string, unknown>[] | undefined {
    const e = this.#runs.get(id);
    if (!e) return undefined;
    this.#flushLive(e);
    return e.replay.replay();
  }

  /**
   * The replay of any run (see {@link eventsInMemory}); for a run of an earlier session it is
   * gathered from its events.jsonl in one bounded-memory pass.
   */
  async replay(id: string): Promise<Record<string, unknown>[] | undefined> {
    if (this.#runs.has(id)) return this.eventsInMemory(id);
    if (!this.#onDisk.some((r) => r.id === id)) return undefined;
    return readReplay(join(this.#runsDir, id, RECORD_FILES.events));
  }

  /**
   * Events from position `since` (= `seq`), at most {@link EVENTS_PAGE} of them: page with
   * `since` = since + the number returned. Older events come from the run's events.jsonl.
   */
  async events(id: string, since = 0): Promise<Record<string, unknown>[] | undefined> {
    const e = this.#runs.get(id);
    if (!e) {
      if (!this.#onDisk.some((r) => r.id === id)) return undefined;
      return readEventLines(join(this.#runsDir, id, RECORD_FILES.events), since, EVENTS_PAGE);
    }
    if (since >= e.replay.tailStart) return e.replay.tail(since, EVENTS_PAGE);
    const log = e.record.events;
    await log.flush();
    const events = await readEventLines(log.path, since, EVENTS_PAGE);
    // The file may end where the tail goes on (lines still being written, or a failed disk).
    const next = since + events.length;
    if (next >= e.replay.tailStart) events.push(...e.replay.tail(next, EVENTS_PAGE - events.length));
    return events;
  }

  /** Directory of a known run (in memory or from an earlier session). */
  runDir(id: string): string | undefined {
    return this.#runs.get(id)?.dir ?? (this.#onDisk.some((r) => r.id === id) ? join(this.#runsDir, id) : undefined);
  }

  /** The queue as the `status` message reports it. */
  queueState(): { running: string[]; pending: string[] } {
    return { running: [...this.#running].map((e) => e.id), pending: this.#pending.map((e) => e.id) };
  }

  /**
   * Cancels a run: a queued run is dropped from the queue, a running one is aborted (its nodes see
   * their AbortSignal). Returns false when the run had already finished.
   */
  cancel(id: string): boolean {
    const e = this.#runs.get(id);
    if (!e) return false;
    if (e.status === 'queued') {
      this.#pending.splice(this.#pending.indexOf(e), 1);
      this.#push(e, { type: 'run:cancelled', runId: e.id, seq: e.replay.count, t: 0, durationMs: 0 });
      this.#finish(e, 'cancelled');
      return true;
    }
    if (e.status === 'running') {
      e.controller?.abort();
      return true;
    }
    return false;
  }

  /**
   * Cancels everything and waits (up to `graceMs`) until every run has ended and its record is
   * written. A run still going after that (a node ignoring its AbortSignal) is recorded as
   * interrupted. Returns whether every run ended by itself.
   */
  async close(graceMs = 3000): Promise<boolean> {
    for (const e of [...this.#pending]) this.cancel(e.id);
    for (const e of [...this.#running]) this.cancel(e.id);
    const deadline = Date.now() + graceMs;
    while (this.#running.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const clean = this.#running.size === 0;
    for (const e of [...this.#running]) {
      e.subscription?.unsubscribe();
      this.#finish(e, 'interrupted');
    }
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
    await Promise.race([Promise.all(this.#finishing), new Promise((r) => setTimeout(r, 1000).unref())]);
    await this.#backend.close();
    return clean;
  }

  set concurrency(n: number) {
    this.#concurrency = Math.max(1, n);
    this.#pump();
  }

  #pump(): void {
    while (this.#running.size < this.#concurrency && this.#pending.length) this.#start(this.#pending.shift()!);
    this.#broadcast({ type: 'status', queue: this.queueState() });
  }

  #start(e: RunEntry): void {
    e.status = 'running';
    e.startedAt = new Date();
    e.controller = new AbortController();
    this.#running.add(e);
    const timeout = this.#limits.runTimeoutMs;
    if (timeout && timeout > 0) {
      e.wallTimer = setTimeout(() => this.#stopForLimit(e, `run exceeded its wall-time limit of ${formatSeconds(timeout)}`), timeout);
      e.wallTimer.unref();
    }
    this.#watch();
    this.#emitRun(e);
    this.#persist(e, e.record.update(() => this.#record(e)));
    const { graph, seed, provider, targets, useCache } = e.request;
    // After the record (and so the directory), so a node writing artifacts never races mkdir.
    void e.record.written.then(() => {
      if (e.status !== 'running') return;
      let last: string | undefined;
      e.subscription = this.#backend
        .execute({
          runId: e.id, graph, outDir: e.dir, signal: e.controller!.signal,
          // A disk slower than the run holds the run back instead of buffering its events.
          backpressure: () => e.record.events.drained(),
          ...runChoices({ seed, provider, targets, useCache }),
        })
        .subscribe({
          next: (event) => {
            last = this.#onEvent(e, event);
          },
          error: (error) => {
            const info: NodeErrorInfo = { nodeId: '', nodeType: '', name: (error as Error)?.name ?? 'Error', message: (error as Error)?.message ?? String(error) };
            this.#push(e, { type: 'run:failed', runId: e.id, seq: e.replay.count, t: 0, durationMs: 0, errors: [info] });
            e.errors = [info];
            this.#finish(e, 'failed');
          },
          complete: () => this.#finish(e, last === 'run:done' ? 'done' : last === 'run:cancelled' ? 'cancelled' : 'failed'),
        });
    });
  }

  /** Stops a run because it went past a limit; it ends failed with `message`. */
  #stopForLimit(e: RunEntry, message: string): void {
    if (e.status !== 'running' || e.limit) return;
    e.limit = { nodeId: '', nodeType: '', name: 'RunLimitExceeded', message };
    e.controller?.abort();
  }

  /** The memory watchdog runs while a limit is set and a run is running. */
  #watch(): void {
    const limitMb = this.#limits.runMemoryMb;
    // Remote runs use their workers' memory, not this process's.
    if (!limitMb || limitMb <= 0 || this.#running.size === 0 || this.#backend.remote) {
      clearInterval(this.#watchdog);
      this.#watchdog = undefined;
      return;
    }
    this.#watchdog ??= setInterval(() => {
      const mb = process.memoryUsage.rss() / (1024 * 1024);
      const limit = this.#limits.runMemoryMb;
      if (!limit || limit <= 0 || mb <= limit) return;
      for (const e of this.#running) this.#stopForLimit(e, `run exceeded its memory limit of ${limit} MB (the server process uses ${Math.round(mb)} MB)`);
    }, WATCHDOG_MS);
    this.#watchdog.unref();
  }

  /** Applies one engine event; returns its type (as recorded). */
  #onEvent(e: RunEntry, event: ExecutionEvent): string {
    // A run stopped by a limit was cancelled by us; its record says why it failed.
    if (event.type === 'run:cancelled' && e.limit) event = { type: 'run:failed', runId: event.runId, seq: event.seq, t: event.t, durationMs: event.durationMs, errors: [e.limit] };
    if ('nodeId' in event) {
      let n = e.nodes.get(event.nodeId);
      if (!n) e.nodes.set(event.nodeId, (n = { state: 'queued' }));
      switch (event.type) {
        case 'node:start':
          n.state = 'running';
          break;
        case 'node:progress':
          n.value = event.value;
          n.max = event.max;
          if (event.preview !== undefined) e.previews.offer(event.nodeId, '$progress', event.preview);
          break;
        case 'node:cached':
          n.state = 'cached';
          break;
        case 'node:output':
          for (const [port, value] of Object.entries(event.outputs)) e.previews.offer(event.nodeId, port, value, event.index);
          break;
        case 'node:done':
          n.state = event.cached ? 'cached' : 'done';
          n.durationMs = Math.round(event.durationMs * 10) / 10;
          e.previews.flush(event.nodeId);
          break;
        case 'node:error':
          n.state = 'error';
          n.message = event.error.message;
          break;
        case 'node:skipped':
          n.state = 'skipped';
          n.message = event.reason;
          break;
      }
    } else if (isTerminalEvent(event)) {
      e.durationMs = event.durationMs;
      if (event.type === 'run:failed') e.errors = event.errors;
    }
    this.#push(e, toWireValue(event) as Record<string, unknown>);
    return event.type;
  }

  /** Records one event (file, tail, per-node latest) and sends it to live clients. */
  #push(e: RunEntry, wire: Record<string, unknown>): void {
    e.record.events.append(JSON.stringify(wire));
    e.replay.add(wire);
    this.#live(e, wire, String(wire.type));
  }

  /**
   * Live fan-out, bounded per run: up to LIVE_BUDGET events per tick go out as they happen;
   * past that, node:output, node:progress and node:log wait for the next tick and go out as the
   * latest per node and type. Every other event goes at once, after what was held back, so
   * clients see `seq` increase (with gaps where events were coalesced: GET …/events has them all).
   */
  #live(e: RunEntry, wire: Record<string, unknown>, type: string): void {
    const now = Date.now();
    if (now - e.liveWindow >= LIVE_TICK_MS) {
      e.liveWindow = now;
      e.liveBudget = LIVE_BUDGET;
    }
    const nodeId = typeof wire.nodeId === 'string' ? wire.nodeId : undefined;
    if (nodeId !== undefined && e.liveBudget <= 0 && (type === 'node:output' || type === 'node:progress' || type === 'node:log')) {
      e.live.set(`${type}\0${nodeId}`, wire);
      e.liveTimer ??= setTimeout(() => this.#flushLive(e), LIVE_TICK_MS);
      return;
    }
    this.#flushLive(e);
    e.liveBudget--;
    this.#broadcast({ type: 'event', event: wire });
  }

  #flushLive(e: RunEntry): void {
    clearTimeout(e.liveTimer);
    e.liveTimer = undefined;
    if (!e.live.size) return;
    const held = [...e.live.values()].sort((a, b) => seqOf(a) - seqOf(b));
    e.live.clear();
    e.liveBudget -= held.length;
    for (const wire of held) this.#broadcast({ type: 'event', event: wire });
  }

  #finish(e: RunEntry, status: RunStatus): void {
    if (e.status !== 'queued' && e.status !== 'running') return;
    e.previews.stop();
    this.#flushLive(e);
    clearTimeout(e.wallTimer);
    e.status = status;
    e.finishedAt = new Date();
    this.#running.delete(e);
    this.#watch();
    this.#emitRun(e);
    // Up to `keepInMemory` finished runs stay listed from memory: each keeps a short tail only.
    e.replay.trim(FINISHED_TAIL_EVENTS);
    const finished = e.record.finish(() => this.#record(e), () => e.previews.written);
    this.#persist(e, finished);
    // Uploaded only with its final record: a run whose run.json could not be written is not
    // stored half (the failure is logged by #persist; the run is listed from memory).
    const p = finished
      .then(
        () => this.#onRecorded?.(e.id, e.dir),
        () => (this.#onRecorded ? this.#engine.logger.warn(`run ${e.id}: not uploaded, as its record could not be written`) : undefined),
      )
      .finally(() => this.#finishing.delete(p));
    this.#finishing.add(p);
    this.#evict();
    this.#pump();
  }

  /**
   * Watches one write of the run's record. A failing disk must not take the server down: the
   * run stays listed from memory, and the failure is logged.
   */
  #persist(e: RunEntry, write: Promise<void>): void {
    write.catch((error: unknown) => this.#engine.logger.warn(`run ${e.id}: the run record cannot be written (${(error as Error)?.message ?? String(error)}); the run is listed from memory`));
  }

  /** The run's run.json as it stands. */
  #record(e: RunEntry): ReturnType<typeof recordOf> {
    const error = e.record.events.error;
    return recordOf(this.#info(e), error ? { error: `events.jsonl: ${error.message}` } : {});
  }

  #evict(): void {
    const finished = [...this.#runs.values()].filter((r) => r.status !== 'queued' && r.status !== 'running');
    for (const old of finished.slice(0, Math.max(0, finished.length - this.#keep))) {
      this.#runs.delete(old.id);
      this.#onDisk.unshift(this.#info(old));
    }
  }

  #emitRun(e: RunEntry): void {
    this.#broadcast({ type: 'run', run: this.#info(e) });
  }

  #broadcast(m: ServerMessage): void {
    for (const l of this.#listeners) {
      try {
        l(m);
      } catch (error) {
        // A broken listener (a dead socket) must not disturb the run; it is told, not fatal.
        this.#engine.logger.debug(`a run listener failed: ${(error as Error)?.message ?? String(error)}`);
      }
    }
  }

  #info(e: RunEntry): RunInfo {
    const pos = e.status === 'queued' ? this.#pending.indexOf(e) : -1;
    const graphName = e.request.graph.name;
    // Keyed by node id (user text): a null prototype keeps `__proto__` an ordinary name.
    const nodes: Record<string, NodeState> = Object.create(null);
    for (const [id, n] of e.nodes) nodes[id] = { ...n };
    return {
      id: e.id,
      status: e.status,
      ...(e.request.label ? { label: e.request.label } : {}),
      ...(graphName ? { graphName } : {}),
      ...(e.request.seed !== undefined ? { seed: e.request.seed } : e.request.graph.seed !== undefined ? { seed: e.request.graph.seed } : {}),
      ...(e.request.provider !== undefined ? { provider: e.request.provider } : e.request.graph.provider !== undefined ? { provider: e.request.graph.provider } : {}),
      createdAt: e.createdAt.toISOString(),
      ...(e.startedAt ? { startedAt: e.startedAt.toISOString() } : {}),
      ...(e.finishedAt ? { finishedAt: e.finishedAt.toISOString() } : {}),
      ...(e.durationMs !== undefined ? { durationMs: Math.round(e.durationMs * 1000) / 1000 } : {}),
      ...(pos >= 0 ? { position: pos } : {}),
      eventCount: e.replay.count,
      nodes,
      ...(e.errors?.length ? { errors: e.errors.map(({ stack: _stack, ...rest }) => rest) } : {}),
    };
  }
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
