import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Engine } from '../engine/Engine.ts';
import type { GraphDocument } from '../graph/GraphDocument.ts';
import { migrateGraph } from '../graph/migrateGraph.ts';
import { capIssues, type ValidationIssue } from '../graph/ValidationIssue.ts';
import { Workspace, WorkspacePathError } from '../services/Workspace.ts';
import { createAjv } from '../util/createAjv.ts';
import { writeFileAtomic } from '../util/writeFileAtomic.ts';
import { walkFiles } from '../util/walkFiles.ts';
import { ApiError, ajvIssues, readJsonBody, sendError, sendJson } from './http.ts';
import { TOKEN_COOKIE, foreignOrigin, hostOfHeader, isLoopback, requestToken, tokenMatches } from './auth.ts';
import { RunQueue, RUN_ID_PATTERN, type ServerMessage } from './RunQueue.ts';
import { acceptWebSocket, rejectUpgrade, type WebSocketConnection, type WebSocketOptions } from './websocket.ts';
import { ensureUiBundle } from './uiBundle.ts';

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
  /** WebSocket limits (message size, slow-client cap, idle and half-frame timeouts); defaults in docs/api.md. */
  readonly webSocket?: WebSocketOptions;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'application/x-ndjson; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
  '.onnx': 'application/octet-stream',
};

// Request bodies (JSON Schema 2020-12). Graphs get the engine's own validation after this.
const GRAPH_OBJECT = { type: 'object', required: ['nodes'], properties: { nodes: { type: ['object', 'array'] } } };
const BODY_SCHEMAS = {
  validate: { type: 'object', required: ['graph'], properties: { graph: GRAPH_OBJECT }, additionalProperties: false },
  run: {
    type: 'object',
    required: ['graph'],
    properties: {
      graph: GRAPH_OBJECT,
      seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
      targets: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 10000 },
      useCache: { type: 'boolean' },
      label: { type: 'string', maxLength: 200 },
    },
    additionalProperties: false,
  },
  saveGraph: { type: 'object', required: ['format', 'version', 'nodes'], properties: { format: { const: 'tessera-graph' }, version: { type: 'integer' }, nodes: { type: 'object' } } },
} as const;

/** Files under a graphs path: `name.json`, nested folders allowed, no dot segments. */
const GRAPH_PATH = /^(?:[A-Za-z0-9_][A-Za-z0-9_. -]*\/)*[A-Za-z0-9_][A-Za-z0-9_. -]*\.json$/;
const SKIP_DIRS = new Set(['node_modules', '.git', 'runs', 'dist', '.tessera-cache']);

/**
 * tessera's HTTP + WebSocket server: the API of docs/api.md and the visual editor. Runs go through
 * a {@link RunQueue}; events reach WebSocket clients as they happen.
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
  readonly host: string;
  readonly workspace: string;
  readonly graphsDir: string;
  readonly #token: string | undefined;
  readonly #maxBody: number;
  readonly #http: Server;
  readonly #sockets = new Set<Socket>();
  readonly #clients = new Set<WebSocketConnection>();
  readonly #ajv = createAjv();
  readonly #validators;
  readonly #port: number;
  readonly #ui: boolean;
  readonly #version: string;
  readonly #webSocket: WebSocketOptions;
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
    this.#maxBody = options.maxBodyBytes ?? 8 * 1024 * 1024;
    this.#ui = options.ui ?? true;
    this.#version = options.version ?? '0.0.0';
    this.#webSocket = options.webSocket ?? {};
    // Every graph this server validates or runs must keep its paths inside the workspace; the
    // server never lifts that boundary (no allowOutside).
    this.engine.useWorkspace(new Workspace(this.workspace));
    this.queue = new RunQueue({ engine: this.engine, runsDir: resolve(options.runsDir ?? join(this.workspace, 'runs')), concurrency: options.concurrency ?? 1, runTimeoutMs: options.runTimeoutMs, runMemoryMb: options.runMemoryMb });
    this.#validators = {
      validate: this.#ajv.compile(BODY_SCHEMAS.validate),
      run: this.#ajv.compile(BODY_SCHEMAS.run),
      saveGraph: this.#ajv.compile(BODY_SCHEMAS.saveGraph),
    };
    this.#http = createHttpServer((req, res) => void this.#handle(req, res));
    this.#http.on('upgrade', (req, socket, head) => {
      // An exception in an event listener would end the process; this one ends the socket.
      try {
        this.#upgrade(req, socket, head);
      } catch (error) {
        this.#logFailure(req, error);
        socket.destroy();
      }
    });
    this.#http.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    // Request timeout guards against clients that open a body and never finish it.
    this.#http.requestTimeout = 60_000;
    this.queue.onMessage((m) => this.#broadcast(m));
  }

  /** Builds the editor if needed, reads the run history and starts listening. */
  async listen(): Promise<this> {
    if (this.#ui) this.#dist = await ensureUiBundle();
    await this.queue.loadHistory();
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
    for (const c of this.#clients) c.close(1001, 'server shutting down');
    await this.queue.close();
    if (!this.#listening) return;
    this.#listening = false;
    await new Promise<void>((r) => {
      this.#http.close(() => r());
      for (const s of this.#sockets) s.destroy();
    });
  }

  #broadcast(m: ServerMessage): void {
    for (const c of this.#clients) {
      const filter = (c as WebSocketConnection & { runFilter?: string }).runFilter;
      if (filter && 'runId' in m && m.runId !== filter) continue;
      if (filter && m.type === 'event' && m.event.runId !== filter) continue;
      if (filter && m.type === 'run' && m.run.id !== filter) continue;
      c.send(m);
    }
  }

  /**
   * Token, Host and Origin checks shared by HTTP and WebSocket; throws an ApiError. Requests that
   * change something (every method but GET/HEAD) and WebSocket handshakes must not come from
   * another site's page: a form can POST to loopback without a preflight (e.g. a cancel).
   */
  #authorize(req: IncomingMessage, url: URL, upgrade = false): { setCookie?: string } {
    if (upgrade || (req.method !== 'GET' && req.method !== 'HEAD')) {
      const origin = foreignOrigin(req);
      if (origin !== undefined) throw new ApiError(403, 'forbidden', `cross-origin ${upgrade ? 'WebSocket' : 'request'} from ${origin} refused`);
    }
    if (this.#token) {
      const { token, from } = requestToken(req, url);
      if (!tokenMatches(this.#token, token)) throw new ApiError(401, 'unauthorized', token === undefined ? 'this server requires a token: send "Authorization: Bearer <token>" (or ?token= on GET and WebSocket requests)' : 'wrong token');
      if (from === 'query') return { setCookie: `${TOKEN_COOKIE}=${encodeURIComponent(token!)}; Path=/; HttpOnly; SameSite=Strict` };
      return {};
    }
    // Without a token, only loopback host names are answered: a DNS-rebinding page (evil.com
    // resolving to 127.0.0.1) sends its own name in Host and is turned away.
    const host = hostOfHeader(req.headers.host);
    if (!host || !isLoopback(host)) throw new ApiError(403, 'forbidden', `Host "${req.headers.host ?? ''}" is not a loopback name; use a token to serve other names`);
    return {};
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // An upgrade socket has no error listener yet; a client reset must not crash the server.
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      rejectUpgrade(socket, 400, 'bad URL');
      return;
    }
    if (url.pathname !== '/api/ws') {
      rejectUpgrade(socket, 404, 'WebSocket endpoint is /api/ws');
      return;
    }
    try {
      // WebSockets are exempt from CORS, so a foreign page could otherwise read the stream.
      this.#authorize(req, url, true);
    } catch (error) {
      const e = error instanceof ApiError ? error : new ApiError(403, 'forbidden', 'bad Origin');
      rejectUpgrade(socket, e.status, e.message);
      return;
    }
    const runFilter = url.searchParams.get('run') ?? undefined;
    if (runFilter !== undefined && !this.queue.get(runFilter)) {
      rejectUpgrade(socket, 404, `no run "${runFilter}"`);
      return;
    }
    const conn = acceptWebSocket(req, socket, this.#webSocket, head);
    if (!conn) return;
    (conn as WebSocketConnection & { runFilter?: string }).runFilter = runFilter;
    conn.send({ type: 'status', queue: this.queue.queueState() });
    if (runFilter) {
      conn.send({ type: 'run', run: this.queue.get(runFilter)! });
      const live = this.queue.eventsInMemory(runFilter);
      if (live) {
        // Replay and join the broadcast in the same tick, so no live event falls in between.
        for (const event of live) conn.send({ type: 'event', event });
        this.#clients.add(conn);
      } else {
        // A run of an earlier session: finished, so there is nothing live to miss.
        this.queue.replay(runFilter).then(
          (events) => {
            for (const event of events ?? []) conn.send({ type: 'event', event });
            if (!conn.closed) this.#clients.add(conn);
          },
          // An unreadable record must not become an unhandled rejection (which ends the process).
          (error: unknown) => {
            this.#logFailure(req, error);
            conn.close(1011, 'could not read the run record');
          },
        );
      }
    } else this.#clients.add(conn);
    conn.onMessage((text) => {
      // The only client command: a ping to check liveness.
      try {
        if ((JSON.parse(text) as { type?: string }).type === 'ping') conn.send({ type: 'pong' });
      } catch {
        conn.close(1003, 'messages must be JSON');
      }
    });
    conn.onClose(() => this.#clients.delete(conn));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        throw new ApiError(400, 'bad_request', 'malformed URL');
      }
      const { setCookie } = this.#authorize(req, url);
      if (setCookie) res.setHeader('Set-Cookie', setCookie);
      res.setHeader('X-Content-Type-Options', 'nosniff');
      if (url.pathname.startsWith('/api/')) await this.#api(req, res, url);
      else await this.#static(req, res, url);
    } catch (error) {
      if (!(error instanceof ApiError)) this.#logFailure(req, error);
      sendError(res, error);
    }
  }

  /** An unexpected error in a route: logged here, answered with a generic 500 by sendError. */
  #logFailure(req: IncomingMessage, error: unknown): void {
    try {
      this.engine.logger.error(`${req.method ?? '?'} ${String(req.url ?? '').split('?')[0]!.slice(0, 200)} failed: ${(error as Error)?.message ?? String(error)}`, { stack: (error as Error)?.stack });
    } catch {
      /* a broken logger must not break the reply */
    }
  }

  async #api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    let parts: string[];
    try {
      parts = url.pathname.slice('/api/'.length).split('/').map((p) => decodeURIComponent(p));
    } catch {
      throw new ApiError(400, 'bad_request', 'malformed percent-encoding in the path');
    }
    const allow = (...methods: string[]) => {
      if (!methods.includes(method)) throw new ApiError(405, 'method_not_allowed', `${method} is not allowed here; use ${methods.join(' or ')}`, { allow: methods.join(', ') });
    };
    const [head, id, sub, ...rest] = parts;
    switch (head) {
      case 'health':
        allow('GET');
        return sendJson(res, 200, { ok: true, version: this.#version, queue: this.queue.queueState(), plugins: this.engine.plugins, nodeProblems: this.engine.registry.problems });
      case 'nodes':
        allow('GET');
        if (id === undefined || id === '') return sendJson(res, 200, this.engine.describeNodes());
        {
          const type = parts.slice(1).join('/');
          const def = this.engine.describeNodes().find((d) => d.type === type);
          if (!def) throw new ApiError(404, 'not_found', `no node type "${type}"`);
          return sendJson(res, 200, def);
        }
      case 'validate': {
        if (id !== undefined) break;
        allow('POST');
        const body = await this.#body(req, 'validate');
        const { graph, issues, migratedFrom } = this.#check(body.graph);
        return sendJson(res, 200, { valid: issues.length === 0, issues: capIssues(issues), ...(migratedFrom !== undefined ? { migratedFrom, graph } : {}) });
      }
      case 'runs':
        return this.#runs(req, res, method, allow, id, sub, rest, url);
      case 'graphs':
        return this.#graphs(req, res, method, allow, parts.slice(1));
      case 'workspace':
        if (id === 'files' && sub === undefined) {
          allow('GET');
          return sendJson(res, 200, { files: await this.#workspaceFiles(url.searchParams.get('ext') ?? undefined) });
        }
        break;
    }
    throw new ApiError(404, 'not_found', `no API endpoint ${url.pathname}`);
  }

  async #runs(req: IncomingMessage, res: ServerResponse, method: string, allow: (...m: string[]) => void, id: string | undefined, sub: string | undefined, rest: string[], url: URL): Promise<void> {
    if (id === undefined || id === '') {
      allow('GET', 'POST');
      if (method === 'GET') return sendJson(res, 200, { runs: this.queue.list(), queue: this.queue.queueState() });
      const body = await this.#body(req, 'run');
      const { graph, issues } = this.#check(body.graph);
      for (const t of (body.targets as string[] | undefined) ?? []) {
        if (!Object.hasOwn((graph as GraphDocument).nodes ?? {}, t)) issues.push({ code: 'invalid_override', pointer: '/targets', message: `target "${t}" is not a node of the graph` });
      }
      if (issues.length) throw invalidGraph(issues);
      const run = this.queue.enqueue({ graph: graph as GraphDocument, ...(pick(body, ['seed', 'targets', 'useCache', 'label']) as object) });
      return sendJson(res, 202, { run }, { Location: `/api/runs/${run.id}` });
    }
    if (!RUN_ID_PATTERN.test(id)) throw new ApiError(404, 'not_found', `no run "${id}"`);
    const run = this.queue.get(id);
    if (!run) throw new ApiError(404, 'not_found', `no run "${id}"`);
    switch (sub) {
      case undefined:
      case '':
        allow('GET');
        return sendJson(res, 200, run);
      case 'events': {
        allow('GET');
        const sinceText = url.searchParams.get('since') ?? '0';
        const since = Number(sinceText);
        if (!Number.isInteger(since) || since < 0) throw new ApiError(400, 'bad_request', '"since" must be a non-negative integer');
        const events = (await this.queue.events(id, since)) ?? [];
        return sendJson(res, 200, { runId: id, status: this.queue.get(id)!.status, since, next: since + events.length, events });
      }
      case 'cancel':
        allow('POST');
        if (!this.queue.cancel(id)) throw new ApiError(409, 'conflict', `run "${id}" has already finished (${run.status})`, { run });
        return sendJson(res, 202, { run: this.queue.get(id) });
      case 'files': {
        allow('GET');
        const dir = this.queue.runDir(id)!;
        if (rest.length === 0 || (rest.length === 1 && rest[0] === '')) return sendJson(res, 200, { runId: id, files: await listFiles(dir) });
        const file = await confined(dir, rest.join('/'));
        if (!file) throw new ApiError(404, 'not_found', `no file "${rest.join('/')}" in run "${id}"`);
        return sendFile(res, file, req.method === 'HEAD');
      }
    }
    throw new ApiError(404, 'not_found', `no API endpoint ${url.pathname}`);
  }

  async #graphs(req: IncomingMessage, res: ServerResponse, method: string, allow: (...m: string[]) => void, path: string[]): Promise<void> {
    const rel = path.join('/');
    if (rel === '') {
      allow('GET');
      return sendJson(res, 200, { graphs: await this.#listGraphs() });
    }
    if (!GRAPH_PATH.test(rel)) throw new ApiError(400, 'bad_request', `"${rel}" is not a graph path: use names like "demo.json" or "folder/name.json" inside graphs/`);
    allow('GET', 'PUT');
    if (method === 'GET') {
      const file = await confined(this.graphsDir, rel);
      if (!file) throw new ApiError(404, 'not_found', `no graph "graphs/${rel}"`);
      return sendFile(res, file, false);
    }
    const body = await this.#body(req, 'saveGraph');
    // The real path, after following every symlink of the part that exists, must stay in
    // graphs/; a dangling link is refused too (writing through it would create its target).
    // One message for every refusal, so a save cannot probe what exists outside.
    let target: string;
    try {
      target = await new Workspace(this.graphsDir).resolve(rel, 'write');
    } catch (error) {
      // A symlink loop is as unusable as a link out of graphs/, and reads the same.
      if (error instanceof WorkspacePathError || (error as NodeJS.ErrnoException).code === 'ELOOP') throw new ApiError(403, 'forbidden', `"graphs/${rel}" resolves outside the graphs folder`);
      throw error;
    }
    const text = JSON.stringify(body, null, 2) + '\n';
    try {
      await writeFileAtomic(target, text);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST') throw new ApiError(409, 'conflict', `"graphs/${rel}" cannot be written: ${code === 'EISDIR' ? 'it is a folder' : 'a part of the path is a file'}`);
      throw error;
    }
    return sendJson(res, 200, { path: `graphs/${rel}`, bytes: Buffer.byteLength(text) });
  }

  async #listGraphs(): Promise<{ path: string; name?: string; description?: string }[]> {
    const out: { path: string; name?: string; description?: string }[] = [];
    const files = await walkFiles(this.graphsDir, { maxDepth: 4, skip: (name, isDir) => name.startsWith('.') || (!isDir && !name.endsWith('.json')) });
    for (const p of files) {
      const rel = relative(this.graphsDir, p).split(sep).join('/');
      let meta: { name?: unknown; description?: unknown } = {};
      try {
        meta = JSON.parse(await readFile(p, 'utf8')) as typeof meta;
      } catch {
        /* listed anyway; opening it reports the problem */
      }
      out.push({ path: rel, ...(typeof meta.name === 'string' ? { name: meta.name } : {}), ...(typeof meta.description === 'string' ? { description: meta.description } : {}) });
    }
    return out;
  }

  /** Workspace files for file-path widgets (workspace-relative, at most 2000, no runs/ or node_modules/). */
  async #workspaceFiles(ext?: string): Promise<string[]> {
    const exts = ext ? ext.split(',').map((e) => (e.startsWith('.') ? e : '.' + e).toLowerCase()) : undefined;
    const files = await walkFiles(this.workspace, {
      maxDepth: 6,
      limit: 2000,
      skip: (name, isDir) => name.startsWith('.') || SKIP_DIRS.has(name) || (!isDir && !!exts && !exts.includes(extname(name).toLowerCase())),
    });
    return files.map((p) => relative(this.workspace, p).split(sep).join('/'));
  }

  /** Reads and schema-checks a JSON body. */
  async #body(req: IncomingMessage, schema: keyof typeof BODY_SCHEMAS): Promise<Record<string, unknown>> {
    const body = await readJsonBody(req, this.#maxBody);
    const validate = this.#validators[schema];
    if (!validate(body)) {
      const issues = ajvIssues(validate.errors);
      throw new ApiError(400, 'invalid_body', `request body is invalid: ${issues.map((i) => `${i.pointer || '/'} ${i.message}`).join('; ')}`, { issues });
    }
    return body as unknown as Record<string, unknown>;
  }

  /** Migrates an older graph and runs the engine's validation. */
  #check(raw: unknown): { graph: unknown; issues: ValidationIssue[]; migratedFrom?: number } {
    const migration = migrateGraph(raw);
    const issues = capIssues([...migration.issues, ...this.engine.validate(migration.graph)]);
    return { graph: migration.graph, issues, ...(migration.migratedFrom !== undefined ? { migratedFrom: migration.migratedFrom } : {}) };
  }

  async #static(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError(405, 'method_not_allowed', 'the editor is read-only; the API lives under /api/', { allow: 'GET, HEAD' });
    if (!this.#dist) throw new ApiError(404, 'not_found', 'this server runs without the editor (API only)');
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname).replace(/^\/+/, '') || 'index.html';
    } catch {
      throw new ApiError(400, 'bad_request', 'malformed percent-encoding in the path');
    }
    const file = await confined(this.#dist, rel);
    if (!file || rel.startsWith('.')) throw new ApiError(404, 'not_found', `no file ${url.pathname}`);
    return sendFile(res, file, req.method === 'HEAD');
  }
}

function invalidGraph(all: ValidationIssue[]): ApiError {
  const issues = capIssues(all);
  // Keyed by node ids, which are user text (e.g. "__proto__").
  const nodeErrors: Record<string, ValidationIssue[]> = Object.create(null);
  for (const i of issues) if (i.nodeId !== undefined) (nodeErrors[i.nodeId] ??= []).push(i);
  return new ApiError(400, 'invalid_graph', `graph is invalid (${all.length} problem${all.length === 1 ? '' : 's'})`, { issues, nodeErrors });
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * Resolves `rel` inside `root` and returns the real path of an existing regular file there, or
 * undefined. Refuses absolute paths, `..` segments, NUL bytes and symlinks that lead outside.
 */
export async function confined(root: string, rel: string): Promise<string | undefined> {
  if (!rel || rel.includes('\0') || isAbsolute(rel) || /^[A-Za-z]:/.test(rel)) return undefined;
  const segments = rel.split(/[\\/]+/);
  if (segments.some((s) => s === '..' || s === '.')) return undefined;
  try {
    const real = await new Workspace(root).resolve(segments.join('/'), 'read');
    return (await stat(real)).isFile() ? real : undefined;
  } catch {
    return undefined;
  }
}

async function listFiles(dir: string): Promise<{ path: string; size: number }[]> {
  // Half-written atomic writes (.name.tmp) are not files of the run yet.
  const files = await walkFiles(dir, { maxDepth: 8, skip: (name) => name.startsWith('.') && name.endsWith('.tmp') });
  const out: { path: string; size: number }[] = [];
  for (const p of files) out.push({ path: relative(dir, p).split(sep).join('/'), size: (await stat(p)).size });
  return out;
}

async function sendFile(res: ServerResponse, file: string, headOnly: boolean): Promise<void> {
  const info = await stat(file);
  res.writeHead(200, { 'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': info.size, 'Cache-Control': 'no-cache' });
  if (headOnly) {
    res.end();
    return;
  }
  await new Promise<void>((done) => {
    const stream = createReadStream(file);
    stream.on('error', () => {
      res.destroy();
      done();
    });
    stream.on('end', () => done());
    stream.pipe(res);
  });
}
