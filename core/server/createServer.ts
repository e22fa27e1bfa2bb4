import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join, resolve } from 'node:path';
import type { Engine } from '../engine/Engine.ts';
import { Workspace } from '../services/Workspace.ts';
import { ApiError, logRequestFailure, sendError } from './http.ts';
import { authorize, isLoopback } from './auth.ts';
import { RunQueue } from './RunQueue.ts';
import { ServerSweeps, SWEEPS_FOLDER } from './ServerSweeps.ts';
import { uploadSweepTables, type SweepTableUploads } from '../storage/uploadSweepTables.ts';
import type { RunBackend } from './RunBackend.ts';
import { ApiRoutes } from './routes.ts';
import { serveEditor } from './static.ts';
import { WebSocketHub } from './WebSocketHub.ts';
import type { WebSocketOptions } from './websocket.ts';
import { ensureUiBundle } from './uiBundle.ts';
import type { ArtifactStore } from '../storage/ArtifactStore.ts';
import { RemoteRuns } from '../storage/RemoteRuns.ts';
import { RemoteSweeps } from '../storage/RemoteSweeps.ts';
import { LocalRunUploads } from '../storage/LocalRunUploads.ts';

/** How long {@link TesseraServer.close} waits for the uploads of runs that ended (`--artifacts` without `--queue`). */
export const UPLOAD_GRACE_MS = 3000;

export { confined } from './static.ts';
export type { RunInfo, RunStatus, NodeState, PreviewMessage, ServerMessage, RunRequest, RunLimits, RunQueueOptions } from './RunQueue.ts';
export type { WebSocketOptions } from './websocket.ts';
export type { RunBackend, RunExecution } from './RunBackend.ts';

/** Options of {@link createServer}. */
export interface ServerOptions {
  readonly engine: Engine;
  /** Address to bind (default 127.0.0.1). Anything but loopback requires `token`. */
  readonly host?: string;
  /** Port (default 8188; 0 picks a free one). */
  readonly port?: number;
  /** Access token every request must carry; required for non-loopback binds. */
  readonly token?: string;
  /** Runs executed at once (default 1). */
  readonly concurrency?: number;
  /** Folder whose `graphs/` the editor opens and saves and whose `runs/` receives run outputs (default cwd). */
  readonly workspace?: string;
  /** Where runs write (default `<workspace>/runs`). */
  readonly runsDir?: string;
  /** Wall-time limit of one run in ms (0 or absent: none). */
  readonly runTimeoutMs?: number;
  /** Stop running runs when the process RSS exceeds this many MiB (0 or absent: none). */
  readonly runMemoryMb?: number;
  /** Largest request body in bytes (default 8 MiB). */
  readonly maxBodyBytes?: number;
  /** Serve the editor (default true); the bundle is built first when missing or stale. */
  readonly ui?: boolean;
  /** Package version reported by `/api/health`. */
  readonly version?: string;
  /** Where runs execute (default: this process); `serve --queue` passes core/queue's RedisRunBackend. */
  readonly backend?: RunBackend;
  /** Object storage workers upload runs to (`serve --artifacts`): the API reads runs and files from it when they are not in the runs folder. */
  readonly artifacts?: ArtifactStore;
  /** WebSocket limits (message size, slow-client cap, idle and half-frame timeouts); defaults in docs/api.md. */
  readonly webSocket?: WebSocketOptions;
}

/**
 * tessera's HTTP + WebSocket server: the API of docs/api.md and the visual editor. Wires the
 * parts: {@link ApiRoutes} (routes.ts) under /api/, the editor bundle (static.ts), the
 * {@link WebSocketHub} at /api/ws, and a {@link RunQueue} that runs graphs and keeps their records.
 *
 * @example
 * const server = await createServer({ engine, port: 0 }).listen();
 * console.log(server.url); // http://127.0.0.1:40123/
 * await server.close();
 */
export function createServer(options: ServerOptions): TesseraServer {
  return new TesseraServer(options);
}

/** See {@link createServer}. */
export class TesseraServer {
  readonly engine: Engine;
  readonly queue: RunQueue;
  /** The sweeps of `/api/sweeps`, run through {@link queue}. */
  readonly sweeps: ServerSweeps;
  readonly host: string;
  readonly workspace: string;
  readonly graphsDir: string;
  readonly #token: string | undefined;
  readonly #http: Server;
  readonly #sockets = new Set<Socket>();
  readonly #routes: ApiRoutes;
  readonly #hub: WebSocketHub;
  readonly #port: number;
  readonly #ui: boolean;
  readonly #uploads: LocalRunUploads | undefined;
  readonly #remote: RemoteRuns | undefined;
  readonly #artifacts: ArtifactStore | undefined;
  readonly #sweepTables: SweepTableUploads | undefined;
  #dist: string | undefined;
  #listening = false;

  constructor(options: ServerOptions) {
    this.engine = options.engine;
    this.host = options.host ?? '127.0.0.1';
    this.#port = options.port ?? 8188;
    this.#token = options.token || undefined;
    if (!isLoopback(this.host) && !this.#token) {
      throw new Error(`binding ${this.host} exposes the server beyond this machine: pass --token (or set TESSERA_TOKEN)`);
    }
    this.workspace = resolve(options.workspace ?? '.');
    this.graphsDir = join(this.workspace, 'graphs');
    this.#ui = options.ui ?? true;
    // Every graph this server validates or runs must keep its paths inside the workspace; the
    // server never lifts that boundary (no allowOutside).
    this.engine.useWorkspace(new Workspace(this.workspace));
    // Runs executed here are uploaded as workers upload theirs (with a remote backend, the workers do it).
    const uploads = options.artifacts && !options.backend?.remote ? new LocalRunUploads(options.artifacts, this.engine.logger) : undefined;
    this.#uploads = uploads;
    this.queue = new RunQueue({ engine: this.engine, runsDir: resolve(options.runsDir ?? join(this.workspace, 'runs')), concurrency: options.concurrency ?? 1, runTimeoutMs: options.runTimeoutMs, runMemoryMb: options.runMemoryMb, ...(options.backend ? { backend: options.backend } : {}), ...(uploads ? { onRecorded: (id: string, dir: string) => uploads.upload(id, dir) } : {}) });
    this.sweeps = new ServerSweeps({ queue: this.queue, logger: this.engine.logger, where: options.backend?.remote ? 'server (redis queue)' : 'server (in-process)' });
    // One reader of the bucket for the API and the WebSocket (its listing and run.json cache shared).
    const remote = options.artifacts ? new RemoteRuns(options.artifacts) : undefined;
    this.#remote = remote;
    this.#artifacts = options.artifacts;
    this.#routes = new ApiRoutes({ engine: this.engine, queue: this.queue, sweeps: this.sweeps, workspace: this.workspace, graphsDir: this.graphsDir, maxBodyBytes: options.maxBodyBytes ?? 8 * 1024 * 1024, version: options.version ?? '0.0.0', ...(remote ? { remote, remoteSweeps: new RemoteSweeps(remote.store) } : {}) });
    this.#hub = new WebSocketHub({ queue: this.queue, logger: this.engine.logger, authorize: (req, url) => authorize(req, url, this.#token, true), ...(options.webSocket ? { webSocket: options.webSocket } : {}), ...(remote ? { remote } : {}) });
    this.sweeps.onMessage((m) => this.#hub.publish(m));
    this.#sweepTables = options.artifacts ? uploadSweepTables(this.sweeps, join(this.queue.runsDir, SWEEPS_FOLDER), options.artifacts, this.engine.logger) : undefined;
    this.#http = createHttpServer((req, res) => void this.#handle(req, res));
    this.#http.on('upgrade', (req, socket, head) => this.#hub.upgrade(req, socket, head));
    this.#http.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    // Request timeout guards against clients that open a body and never finish it.
    this.#http.requestTimeout = 60_000;
  }

  /** Builds the editor if needed, reads the run history and starts listening. */
  async listen(): Promise<this> {
    if (this.#ui) this.#dist = await ensureUiBundle();
    await this.queue.loadHistory();
    await this.sweeps.load();
    await new Promise<void>((resolveListen, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(this.#port, this.host, () => {
        this.#http.off('error', reject);
        resolveListen();
      });
    });
    this.#listening = true;
    return this;
  }

  /** The bound port (after {@link listen}). */
  get port(): number {
    const a = this.#http.address();
    return typeof a === 'object' && a ? a.port : this.#port;
  }

  /** Base URL, e.g. `http://127.0.0.1:8188/` (an unspecified bind address is shown as loopback). */
  get url(): string {
    const h = this.host === '0.0.0.0' || this.host === '::' ? '127.0.0.1' : this.host;
    return `http://${h.includes(':') ? `[${h}]` : h}:${this.port}/`;
  }

  /** Stops accepting requests, cancels queued and running runs, closes sockets. */
  async close(): Promise<void> {
    this.#hub.closeAll();
    // Sweeps stop queueing first; the queue then cancels their runs, and they write their last table.
    const sweeps = this.sweeps.close();
    await this.queue.close();
    await sweeps;
    // The uploads of runs and sweep tables that just ended get a moment (together); one cut short
    // stays in the runs folder.
    const [runsStored, tablesStored] = await Promise.all([this.#uploads?.drain(UPLOAD_GRACE_MS) ?? true, this.#sweepTables?.drain(UPLOAD_GRACE_MS) ?? true]);
    if (!runsStored) this.engine.logger.warn(`${this.#uploads!.pending} run upload(s) did not finish before the server stopped; those runs are in ${this.queue.runsDir} only`);
    if (!tablesStored) this.engine.logger.warn(`the copy of a sweep table to ${this.#artifacts!.where} did not finish before the server stopped; it is in ${join(this.queue.runsDir, SWEEPS_FOLDER)}`);
    this.#sweepTables?.stop();
    await this.#remote?.close(); // its downloaded events files
    this.#artifacts?.close();
    if (!this.#listening) return;
    this.#listening = false;
    await new Promise<void>((r) => {
      this.#http.close(() => r());
      for (const s of this.#sockets) s.destroy();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        throw new ApiError(400, 'bad_request', 'malformed URL');
      }
      const { setCookie } = authorize(req, url, this.#token);
      if (setCookie) res.setHeader('Set-Cookie', setCookie);
      res.setHeader('X-Content-Type-Options', 'nosniff');
      if (url.pathname.startsWith('/api/')) await this.#routes.handle(req, res, url);
      else await serveEditor(req, res, url, this.#dist);
    } catch (error) {
      // An unexpected error is logged here and answered with a generic 500 by sendError.
      if (!(error instanceof ApiError)) logRequestFailure(this.engine.logger, req, error);
      sendError(res, error);
    }
  }
}
