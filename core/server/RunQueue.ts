import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Subscription } from 'rxjs';
import type { Engine } from '../engine/Engine.ts';
import type { ExecutionEvent, NodeErrorInfo } from '../engine/events.ts';
import type { GraphDocument } from '../graph/GraphDocument.ts';
import { toWireValue } from '../util/summarizeValue.ts';
import { writeFileAtomic } from '../util/writeFileAtomic.ts';
import { makePreview } from './previews.ts';

/** Where a run is in its life. */
export type RunStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** What a client may ask of one run. */
export interface RunRequest {
  readonly graph: GraphDocument;
  readonly seed?: number;
  readonly targets?: readonly string[];
  readonly useCache?: boolean;
  /** Shown in listings; usually the graph's file name. */
  readonly label?: string;
}

/** Last known state of one node in a run (what the editor paints on it). */
export interface NodeState {
  state: 'queued' | 'running' | 'done' | 'cached' | 'error' | 'skipped';
  value?: number;
  max?: number;
  durationMs?: number;
  message?: string;
}

/** A run as the API lists it. */
export interface RunInfo {
  readonly id: string;
  readonly status: RunStatus;
  readonly label?: string;
  readonly graphName?: string;
  readonly seed?: number;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly durationMs?: number;
  /** Place in the queue (0 = next) while queued. */
  readonly position?: number;
  readonly eventCount: number;
  readonly nodes: Record<string, NodeState>;
  readonly errors?: readonly NodeErrorInfo[];
}

/** A message on the WebSocket stream (also what {@link RunQueue.onMessage} listeners get). */
export type ServerMessage =
  | { type: 'status'; queue: { running: string[]; pending: string[] } }
  | { type: 'run'; run: RunInfo }
  | { type: 'event'; event: Record<string, unknown> }
  | PreviewMessage;

/** A visual form of a node's output: an image or heatmap (PNG data URL) or a plot (numbers). */
export interface PreviewMessage {
  type: 'preview';
  runId: string;
  nodeId: string;
  /** The output port, or `$progress` for a preview passed to `progress()`. */
  port: string;
  index?: number;
  kind: 'image' | 'heatmap' | 'plot';
  width?: number;
  height?: number;
  min?: number;
  max?: number;
  values?: (number | null)[];
  length?: number;
  /** For a list of images/tensors: how many there were (the preview shows the first). */
  count?: number;
  /** `data:image/png;base64,…` for images and heatmaps. */
  src?: string;
  /** The PNG inside the run directory (fetch with `GET /api/runs/{id}/files/{file}`). */
  file?: string;
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
  readonly events: Record<string, unknown>[];
  readonly nodes: Record<string, NodeState>;
  errors?: readonly NodeErrorInfo[];
  controller?: AbortController;
  subscription?: Subscription;
  readonly previews: Map<string, { last: number; pending?: { value: unknown; index?: number }; timer?: NodeJS.Timeout }>;
  /** Preview files being written; the run record waits for them. */
  readonly writes: Promise<unknown>[];
}

/** Options of a {@link RunQueue}. */
export interface RunQueueOptions {
  readonly engine: Engine;
  /** Each run writes into `<runsDir>/<runId>/`. */
  readonly runsDir: string;
  /** Runs executed at once (default 1, like ComfyUI's single worker). */
  readonly concurrency?: number;
  /** Finished runs kept in memory; older ones are still listed and read from disk. */
  readonly keepInMemory?: number;
}

/** Safe run ids: they name directories and appear in URLs. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/;

const PREVIEW_INTERVAL_MS = 100;

/**
 * The server's run queue: runs are executed in submission order, `concurrency` at a time, and
 * are independent of the HTTP requests and sockets that asked for or watch them. Every event is
 * kept (in wire form) so a late client can replay a run, and written to the run directory with
 * the graph and a summary when the run ends.
 */
export class RunQueue {
  readonly #engine: Engine;
  readonly #runsDir: string;
  #concurrency: number;
  readonly #keep: number;
  readonly #runs = new Map<string, RunEntry>();
  readonly #pending: RunEntry[] = [];
  readonly #running = new Set<RunEntry>();
  readonly #listeners = new Set<(m: ServerMessage) => void>();
  readonly #finishing = new Set<Promise<void>>();
  /** Runs found on disk from earlier server sessions (summaries only). */
  #onDisk: RunInfo[] = [];

  constructor(options: RunQueueOptions) {
    this.#engine = options.engine;
    this.#runsDir = options.runsDir;
    this.#concurrency = Math.max(1, options.concurrency ?? 1);
    this.#keep = options.keepInMemory ?? 200;
  }

  get runsDir(): string {
    return this.#runsDir;
  }

  /** Reads the summaries of runs recorded by earlier sessions, so the history survives restarts. */
  async loadHistory(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.#runsDir);
    } catch {
      return;
    }
    const found: RunInfo[] = [];
    for (const name of names) {
      if (!RUN_ID_PATTERN.test(name) || this.#runs.has(name)) continue;
      const info = await readRunRecord(join(this.#runsDir, name));
      if (info && info.id === name) found.push(info);
    }
    this.#onDisk = found.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** Subscribes to every message of every run; returns the unsubscribe function. */
  onMessage(listener: (m: ServerMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Queues a run (already validated by the caller) and returns its id. */
  enqueue(request: RunRequest): RunInfo {
    const id = newRunId();
    const entry: RunEntry = { id, request, dir: join(this.#runsDir, id), createdAt: new Date(), status: 'queued', events: [], nodes: {}, previews: new Map(), writes: [] };
    this.#runs.set(id, entry);
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

  /** Events so far of a run held in memory, synchronously (so a replay cannot miss a live event). */
  eventsInMemory(id: string): Record<string, unknown>[] | undefined {
    return this.#runs.get(id)?.events.slice();
  }

  /** Events so far (from `since`, by `seq` position). Runs of earlier sessions are read from disk. */
  async events(id: string, since = 0): Promise<Record<string, unknown>[] | undefined> {
    const e = this.#runs.get(id);
    if (e) return e.events.slice(since);
    if (!this.#onDisk.some((r) => r.id === id)) return undefined;
    try {
      const text = await readFile(join(this.#runsDir, id, 'events.jsonl'), 'utf8');
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).slice(since);
    } catch {
      return [];
    }
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
      this.#push(e, { type: 'run:cancelled', runId: e.id, seq: 0, t: 0, durationMs: 0 });
      this.#finish(e, 'cancelled');
      return true;
    }
    if (e.status === 'running') {
      e.controller?.abort();
      return true;
    }
    return false;
  }

  /** Cancels everything and waits until every run record is written. */
  async close(): Promise<void> {
    for (const e of [...this.#pending]) this.cancel(e.id);
    for (const e of [...this.#running]) this.cancel(e.id);
    const deadline = Date.now() + 5000;
    while ((this.#running.size || this.#finishing.size) && Date.now() < deadline) {
      await Promise.race([Promise.all(this.#finishing), new Promise((r) => setTimeout(r, 20))]);
    }
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
    this.#emitRun(e);
    const { graph, seed, targets, useCache } = e.request;
    // Directory first, so a node writing artifacts and the final record never race mkdir.
    void mkdir(e.dir, { recursive: true })
      .then(() => writeFileAtomic(join(e.dir, 'graph.json'), JSON.stringify(graph, null, 2) + '\n'))
      .catch(() => undefined)
      .then(() => {
        if (e.status !== 'running') return;
        let last: string | undefined;
        e.subscription = this.#engine
          .run(graph, { runId: e.id, outDir: e.dir, signal: e.controller!.signal, ...(seed !== undefined ? { seed } : {}), ...(targets?.length ? { targets } : {}), ...(useCache !== undefined ? { useCache } : {}) })
          .subscribe({
            next: (event) => {
              last = event.type;
              this.#onEvent(e, event);
            },
            error: (error) => {
              const info: NodeErrorInfo = { nodeId: '', nodeType: '', name: (error as Error)?.name ?? 'Error', message: (error as Error)?.message ?? String(error) };
              this.#push(e, { type: 'run:failed', runId: e.id, seq: e.events.length, t: 0, durationMs: 0, errors: [info] });
              e.errors = [info];
              this.#finish(e, 'failed');
            },
            complete: () => this.#finish(e, last === 'run:done' ? 'done' : last === 'run:cancelled' ? 'cancelled' : 'failed'),
          });
      });
  }

  #onEvent(e: RunEntry, event: ExecutionEvent): void {
    const n = 'nodeId' in event ? (e.nodes[event.nodeId] ??= { state: 'queued' }) : undefined;
    switch (event.type) {
      case 'node:start':
        Object.assign(n!, { state: 'running' });
        break;
      case 'node:progress':
        Object.assign(n!, { value: event.value, max: event.max });
        if (event.preview !== undefined) this.#preview(e, event.nodeId, '$progress', event.preview);
        break;
      case 'node:cached':
        n!.state = 'cached';
        break;
      case 'node:output':
        for (const [port, value] of Object.entries(event.outputs)) this.#preview(e, event.nodeId, port, value, event.index);
        break;
      case 'node:done':
        Object.assign(n!, { state: event.cached ? 'cached' : 'done', durationMs: Math.round(event.durationMs * 10) / 10 });
        this.#flushPreviews(e, event.nodeId);
        break;
      case 'node:error':
        Object.assign(n!, { state: 'error', message: event.error.message });
        break;
      case 'node:skipped':
        Object.assign(n!, { state: 'skipped', message: event.reason });
        break;
      case 'run:done':
      case 'run:failed':
      case 'run:cancelled':
        e.durationMs = event.durationMs;
        if (event.type === 'run:failed') e.errors = event.errors;
        break;
    }
    this.#push(e, toWireValue(event) as Record<string, unknown>);
  }

  #push(e: RunEntry, wire: Record<string, unknown>): void {
    e.events.push(wire);
    this.#broadcast({ type: 'event', event: wire });
  }

  /** Throttled per node and port: a stream of images shows its latest value ~10 times a second. */
  #preview(e: RunEntry, nodeId: string, port: string, value: unknown, index?: number): void {
    if (!value || typeof value !== 'object') return;
    const key = `${nodeId}\0${port}`;
    const slot = e.previews.get(key) ?? { last: 0 };
    e.previews.set(key, slot);
    const now = Date.now();
    if (!slot.timer && now - slot.last >= PREVIEW_INTERVAL_MS) {
      slot.last = now;
      this.#sendPreview(e, nodeId, port, value, index);
      return;
    }
    slot.pending = { value, ...(index !== undefined ? { index } : {}) };
    slot.timer ??= setTimeout(() => this.#flushSlot(e, key), Math.max(0, PREVIEW_INTERVAL_MS - (now - slot.last)));
  }

  #flushSlot(e: RunEntry, key: string): void {
    const slot = e.previews.get(key);
    if (!slot) return;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    const p = slot.pending;
    slot.pending = undefined;
    if (!p) return;
    slot.last = Date.now();
    const [nodeId, port] = key.split('\0') as [string, string];
    this.#sendPreview(e, nodeId, port, p.value, p.index);
  }

  #flushPreviews(e: RunEntry, nodeId?: string): void {
    for (const key of e.previews.keys()) if (nodeId === undefined || key.startsWith(nodeId + '\0')) this.#flushSlot(e, key);
  }

  #sendPreview(e: RunEntry, nodeId: string, port: string, value: unknown, index?: number): void {
    let preview;
    try {
      preview = makePreview(value);
    } catch {
      return; // a malformed value is not worth failing the run over
    }
    if (!preview) return;
    const base = { type: 'preview' as const, runId: e.id, nodeId, port, ...(index !== undefined ? { index } : {}) };
    if (preview.kind === 'plot') {
      this.#broadcast({ ...base, kind: 'plot', values: preview.values.map((v) => (Number.isFinite(v) ? v : null)), length: preview.length, min: preview.min, max: preview.max });
      return;
    }
    const file = `previews/${safeName(nodeId)}/${safeName(port === '$progress' ? 'progress' : port)}.png`;
    e.writes.push(writeFileAtomic(join(e.dir, file), preview.png).catch(() => undefined));
    this.#broadcast({ ...base, kind: preview.kind, width: preview.width, height: preview.height, ...(preview.kind === 'heatmap' ? { min: preview.min, max: preview.max } : {}), ...(preview.count !== undefined ? { count: preview.count } : {}), src: `data:image/png;base64,${preview.png.toString('base64')}`, file });
  }

  #finish(e: RunEntry, status: RunStatus): void {
    if (e.status !== 'queued' && e.status !== 'running') return;
    this.#flushPreviews(e);
    for (const slot of e.previews.values()) if (slot.timer) clearTimeout(slot.timer);
    e.status = status;
    e.finishedAt = new Date();
    this.#running.delete(e);
    this.#emitRun(e);
    const p = this.#writeRecord(e).finally(() => this.#finishing.delete(p));
    this.#finishing.add(p);
    this.#evict();
    this.#pump();
  }

  async #writeRecord(e: RunEntry): Promise<void> {
    try {
      await Promise.all(e.writes);
      await mkdir(e.dir, { recursive: true });
      if (e.status === 'cancelled' && !e.startedAt) await writeFileAtomic(join(e.dir, 'graph.json'), JSON.stringify(e.request.graph, null, 2) + '\n');
      await writeFileAtomic(join(e.dir, 'events.jsonl'), e.events.map((ev) => JSON.stringify(ev)).join('\n') + '\n');
      const info = this.#info(e);
      const { nodes: _nodes, position: _position, ...summary } = info;
      await writeFileAtomic(join(e.dir, 'run.json'), JSON.stringify({ ...summary, runId: e.id }, null, 2) + '\n');
    } catch {
      /* a full disk must not take the server down; the run stays listed from memory */
    }
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
      } catch {
        /* a broken listener (a dead socket) must not disturb the run */
      }
    }
  }

  #info(e: RunEntry): RunInfo {
    const pos = e.status === 'queued' ? this.#pending.indexOf(e) : -1;
    const graphName = e.request.graph.name;
    return {
      id: e.id,
      status: e.status,
      ...(e.request.label ? { label: e.request.label } : {}),
      ...(graphName ? { graphName } : {}),
      ...(e.request.seed !== undefined ? { seed: e.request.seed } : e.request.graph.seed !== undefined ? { seed: e.request.graph.seed } : {}),
      createdAt: e.createdAt.toISOString(),
      ...(e.startedAt ? { startedAt: e.startedAt.toISOString() } : {}),
      ...(e.finishedAt ? { finishedAt: e.finishedAt.toISOString() } : {}),
      ...(e.durationMs !== undefined ? { durationMs: Math.round(e.durationMs * 1000) / 1000 } : {}),
      ...(pos >= 0 ? { position: pos } : {}),
      eventCount: e.events.length,
      nodes: e.nodes,
      ...(e.errors?.length ? { errors: e.errors.map(({ stack: _stack, ...rest }) => rest) } : {}),
    };
  }
}

let lastStamp = '';
let stampCounter = 0;

/** Sortable, unique, URL- and file-safe: `20261126-130501-000-3f9a1c`. */
function newRunId(): string {
  const iso = new Date().toISOString();
  const stamp = iso.slice(0, 10).replace(/-/g, '') + '-' + iso.slice(11, 19).replace(/:/g, '');
  stampCounter = stamp === lastStamp ? stampCounter + 1 : 0;
  lastStamp = stamp;
  return `${stamp}-${String(stampCounter).padStart(3, '0')}-${randomBytes(3).toString('hex')}`;
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_') || '_';
}

const CLI_STATUS: Record<string, RunStatus> = { 'run:done': 'done', 'run:failed': 'failed', 'run:cancelled': 'cancelled' };

/**
 * Reads a run directory's summary: one written by this server, or by `tessera run` (whose
 * run.json holds `{file, status: "run:done", runId}`; it is listed under its folder name).
 */
async function readRunRecord(dir: string): Promise<RunInfo | undefined> {
  try {
    const path = join(dir, 'run.json');
    const r = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    if (typeof r.id === 'string' && typeof r.status === 'string' && typeof r.createdAt === 'string') return { ...(r as unknown as RunInfo), nodes: {} };
    const status = CLI_STATUS[String(r.status)];
    if (!status) return undefined;
    const { mtime } = await stat(path);
    const errors = Array.isArray(r.errors) ? (r.errors as NodeErrorInfo[]).map(({ stack: _stack, ...rest }) => rest) : undefined;
    return { id: basename(dir), status, ...(typeof r.file === 'string' ? { label: r.file } : {}), createdAt: mtime.toISOString(), finishedAt: mtime.toISOString(), eventCount: 0, nodes: {}, ...(errors?.length ? { errors } : {}) };
  } catch {
    return undefined;
  }
}
