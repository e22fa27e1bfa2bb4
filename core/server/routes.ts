import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROVIDER_CHOICES, type ProviderChoice } from '../graph/providers.ts';
import { readFile, stat } from 'node:fs/promises';
import { extname, relative, sep } from 'node:path';
import type { Engine } from '../engine/Engine.ts';
import type { GraphDocument } from '../graph/GraphDocument.ts';
import { migrateGraph } from '../graph/migrateGraph.ts';
import { capIssues, type ValidationIssue } from '../graph/ValidationIssue.ts';
import { Workspace, WorkspacePathError } from '../services/Workspace.ts';
import { createAjv } from '../util/createAjv.ts';
import { writeFileAtomic } from '../util/writeFileAtomic.ts';
import { walkFiles } from '../util/walkFiles.ts';
import { ApiError, ajvIssues, readJsonBody, sendJson } from './http.ts';
import type { RunQueue } from './RunQueue.ts';
import { RUN_ID_PATTERN } from './runId.ts';
import type { ServerSweeps, SweepStart } from './ServerSweeps.ts';
import { checkGrid, MAX_SEED, MAX_SWEEP_RUNS, type GridEntry } from '../sweep/parseGrid.ts';
import { planSweep } from '../sweep/planSweep.ts';
import { canonicalJson } from '../util/canonicalJson.ts';
import { sha256 } from '../util/hash.ts';
import { confined, sendFile } from './static.ts';
import { keyPathProblem } from '../storage/artifactKeys.ts';
import type { RemoteRuns } from '../storage/RemoteRuns.ts';
import type { RemoteSweeps } from '../storage/RemoteSweeps.ts';
import type { SweepSummary } from '../wire/sweeps.ts';
import type { SweepTable } from '../sweep/SweepTable.ts';
import type { RunInfo } from '../wire/runs.ts';
import { sendStoredFile } from './sendStoredFile.ts';
import { EVENTS_PAGE } from './RunQueue.ts';

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
      provider: { enum: PROVIDER_CHOICES },
      targets: { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 10000 },
      useCache: { type: 'boolean' },
      label: { type: 'string', maxLength: 200 },
    },
    additionalProperties: false,
  },
  sweep: {
    type: 'object',
    required: ['graph', 'grid'],
    properties: {
      graph: GRAPH_OBJECT,
      grid: {
        type: 'array', maxItems: 100,
        items: {
          type: 'object', required: ['node', 'param', 'values'], additionalProperties: false,
          properties: { node: { type: 'string', minLength: 1, maxLength: 200 }, param: { type: 'string', minLength: 1, maxLength: 200 }, values: { type: 'array', minItems: 1, maxItems: MAX_SWEEP_RUNS } },
        },
      },
      seeds: { type: 'array', minItems: 1, maxItems: MAX_SWEEP_RUNS, items: { type: 'integer', minimum: 0, maximum: MAX_SEED } },
      provider: { enum: PROVIDER_CHOICES },
      label: { type: 'string', maxLength: 200 },
      resume: { type: 'string', pattern: RUN_ID_PATTERN.source },
    },
    additionalProperties: false,
  },
  saveGraph: { type: 'object', required: ['format', 'version', 'nodes'], properties: { format: { const: 'tessera-graph' }, version: { type: 'integer' }, nodes: { type: 'object' } } },
} as const;

/** Files under a graphs path: `name.json`, nested folders allowed, no dot segments. */
const GRAPH_PATH = /^(?:[A-Za-z0-9_][A-Za-z0-9_. -]*\/)*[A-Za-z0-9_][A-Za-z0-9_. -]*\.json$/;
const SKIP_DIRS = new Set(['node_modules', '.git', 'runs', 'dist', '.tessera-cache']);

/** What the API routes work on. */
export interface ApiContext {
  readonly engine: Engine;
  readonly queue: RunQueue;
  readonly sweeps: ServerSweeps;
  readonly workspace: string;
  readonly graphsDir: string;
  /** Largest request body in bytes. */
  readonly maxBodyBytes: number;
  /** Reported by `/api/health`. */
  readonly version: string;
  /** The runs of the object storage of `serve --artifacts`: runs and files not in the runs folder are read from there. */
  readonly remote?: RemoteRuns;
  /** The sweeps stored in the same bucket (`<prefix>/sweeps/<id>/`), listed after the server's own. */
  readonly remoteSweeps?: RemoteSweeps;
}

type Allow = (...methods: string[]) => void;

/**
 * The `/api/…` endpoints of docs/api.md (the WebSocket at /api/ws is the hub's). Requests arrive
 * authorized; every refusal is thrown as an ApiError for the caller to answer.
 */
export class ApiRoutes {
  readonly #c: ApiContext;
  readonly #validators;
  readonly #remote: RemoteRuns | undefined;

  constructor(context: ApiContext) {
    this.#c = context;
    this.#remote = context.remote;
    const ajv = createAjv();
    this.#validators = {
      validate: ajv.compile(BODY_SCHEMAS.validate),
      run: ajv.compile(BODY_SCHEMAS.run),
      sweep: ajv.compile(BODY_SCHEMAS.sweep),
      saveGraph: ajv.compile(BODY_SCHEMAS.saveGraph),
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const { engine, queue } = this.#c;
    const method = req.method ?? 'GET';
    let parts: string[];
    try {
      parts = url.pathname.slice('/api/'.length).split('/').map((p) => decodeURIComponent(p));
    } catch {
      throw new ApiError(400, 'bad_request', 'malformed percent-encoding in the path');
    }
    const allow: Allow = (...methods) => {
      if (!methods.includes(method)) throw new ApiError(405, 'method_not_allowed', `${method} is not allowed here; use ${methods.join(' or ')}`, { allow: methods.join(', ') });
    };
    const [head, id, sub, ...rest] = parts;
    switch (head) {
      case 'health':
        allow('GET');
        return sendJson(res, 200, { ok: true, version: this.#c.version, queue: queue.queueState(), plugins: engine.plugins, nodeProblems: engine.registry.problems });
      case 'nodes':
        allow('GET');
        if (id === undefined || id === '') return sendJson(res, 200, engine.describeNodes());
        {
          const type = parts.slice(1).join('/');
          const def = engine.describeNodes().find((d) => d.type === type);
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
      case 'sweeps':
        if (rest.length === 0) return this.#sweeps(req, res, method, allow, id, sub, url);
        break;
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

  async #runs(req: IncomingMessage, res: ServerResponse, method: string, allow: Allow, id: string | undefined, sub: string | undefined, rest: string[], url: URL): Promise<void> {
    const { queue } = this.#c;
    if (id === undefined || id === '') {
      allow('GET', 'POST');
      if (method === 'GET') return sendJson(res, 200, { runs: await this.#listRuns(), queue: queue.queueState() });
      const body = await this.#body(req, 'run');
      const { graph, issues } = this.#check(body.graph);
      for (const t of (body.targets as string[] | undefined) ?? []) {
        if (!Object.hasOwn((graph as GraphDocument).nodes ?? {}, t)) issues.push({ code: 'invalid_override', pointer: '/targets', message: `target "${t}" is not a node of the graph` });
      }
      if (issues.length) throw invalidGraph(issues);
      const run = queue.enqueue({ graph: graph as GraphDocument, ...(pick(body, ['seed', 'provider', 'targets', 'useCache', 'label']) as object) });
      return sendJson(res, 202, { run }, { Location: `/api/runs/${run.id}` });
    }
    if (!RUN_ID_PATTERN.test(id)) throw new ApiError(404, 'not_found', `no run "${id}"`);
    // A run of this server's runs folder, else one a worker stored (serve --artifacts).
    const here = queue.get(id);
    const run = here ?? (await this.#stored((remote) => remote.info(id)));
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
        const events = (here ? await queue.events(id, since) : await this.#stored((remote) => remote.events(id, since, EVENTS_PAGE))) ?? [];
        return sendJson(res, 200, { runId: id, status: queue.get(id)?.status ?? run.status, since, next: since + events.length, events });
      }
      case 'cancel':
        allow('POST');
        if (!here || !queue.cancel(id)) throw new ApiError(409, 'conflict', `run "${id}" has already finished (${run.status})`, { run });
        return sendJson(res, 202, { run: queue.get(id) });
      case 'files': {
        allow('GET');
        const dir = here ? queue.runDir(id) : undefined;
        if (rest.length === 0 || (rest.length === 1 && rest[0] === '')) {
          // The server's record and the worker's artifacts: a file in both is listed once, as here.
          const files = dir ? await listFiles(dir) : [];
          // A run of this server is listed from here when the bucket cannot be read (and that is logged).
          const stored = (await this.#stored((remote) => remote.store.listFiles(id)).catch((error: unknown) => {
            if (!dir) throw error;
            this.#c.engine.logger.warn(`run ${id}: its files in the bucket cannot be listed (${(error as Error).message}); listed from the runs folder only`);
            return [];
          })) ?? [];
          const seen = new Set(files.map((f) => f.path));
          return sendJson(res, 200, { runId: id, files: [...files, ...stored.filter((f) => !seen.has(f.path))].sort((a, b) => a.path.localeCompare(b.path)) });
        }
        const rel = rest.join('/');
        const file = dir && (await confined(dir, rel));
        if (file) return sendFile(res, file, req.method === 'HEAD');
        if (this.#remote) {
          // The path is user text and becomes an object key: no `..`, nothing absolute.
          const problem = keyPathProblem(rel);
          if (problem) throw new ApiError(400, 'bad_request', `the file path "${rel}" is refused: ${problem}`);
          const object = await this.#stored((remote) => remote.store.open(id, rel));
          if (object) return sendStoredFile(res, rel, object, req.method === 'HEAD');
        }
        throw new ApiError(404, 'not_found', `no file "${rel}" in run "${id}"`);
      }
    }
    throw new ApiError(404, 'not_found', `no API endpoint ${url.pathname}`);
  }

  /** The runs of the runs folder, then those only the store has; a store that cannot be listed is logged and left out. */
  async #listRuns(): Promise<RunInfo[]> {
    const runs = this.#c.queue.list();
    if (!this.#remote) return runs;
    let stored: RunInfo[];
    try {
      stored = await this.#remote.list();
    } catch (error) {
      this.#c.engine.logger.warn(`the runs in ${this.#remote.store.where} cannot be listed (${(error as Error).message}); GET /api/runs lists this server's own`);
      return runs;
    }
    const here = new Set(runs.map((r) => r.id));
    return [...runs, ...stored.filter((r) => !here.has(r.id))];
  }

  /** Something read from the store (undefined without one); a store that fails answers 502 with S3's reason. */
  async #stored<T>(read: (remote: RemoteRuns) => Promise<T>): Promise<T | undefined> {
    if (!this.#remote) return undefined;
    try {
      return await read(this.#remote);
    } catch (error) {
      throw new ApiError(502, 'internal', `the run store cannot be read: ${(error as Error).message}`);
    }
  }

  async #sweeps(req: IncomingMessage, res: ServerResponse, method: string, allow: Allow, id: string | undefined, sub: string | undefined, url: URL): Promise<void> {
    const { sweeps } = this.#c;
    if (id === undefined || id === '') {
      allow('GET', 'POST');
      if (method === 'GET') return sendJson(res, 200, { sweeps: await this.#listSweeps() });
      const body = await this.#body(req, 'sweep');
      const migration = migrateGraph(body.graph);
      const graph = migration.graph as GraphDocument;
      // The checks of `tessera sweep` (core/sweep/planSweep.ts), with pointers into this body.
      const plan = planSweep(this.#c.engine, graph, (paramNames) => checkGrid(graph, body.grid as GridEntry[], body.seeds as number[] | undefined, paramNames));
      const issues = [...migration.issues, ...plan.issues];
      if (issues.length) throw invalidGraph(issues, 'invalid_sweep', 'the sweep is invalid');
      const graphHash = sha256(canonicalJson(graph));
      let resume: SweepStart['resume'];
      if (typeof body.resume === 'string') {
        // A sweep of this server, else one stored in the bucket (another server's, or `sweep --artifacts`).
        const found = await this.#sweep(body.resume);
        const earlier = found?.sweep;
        const table = found && (await found.table());
        if (!earlier || !table) throw new ApiError(400, 'invalid_sweep', `no sweep "${body.resume}" to resume`, { issues: [{ code: 'invalid_override', pointer: '/resume', message: `no sweep "${body.resume}" on this server` }] });
        if (earlier.state === 'running') throw new ApiError(409, 'conflict', `sweep "${body.resume}" is still running; wait for it or cancel it first`, { sweep: earlier });
        if (table.graphHash !== graphHash) throw new ApiError(409, 'conflict', `sweep "${body.resume}" ran another graph; a resume needs the same graph`);
        resume = { id: body.resume, rows: table.rows };
      }
      const sweep = sweeps.start({
        graph, graphHash, axes: plan.axes, seeds: plan.seeds, cells: plan.cells,
        ...(pick(body, ['label', 'provider']) as { label?: string; provider?: ProviderChoice }), ...(resume ? { resume } : {}),
      });
      return sendJson(res, 202, { sweep }, { Location: `/api/sweeps/${sweep.id}` });
    }
    const found = await this.#sweep(id);
    if (!found) throw new ApiError(404, 'not_found', `no sweep "${id}"`);
    const { sweep } = found;
    switch (sub) {
      case undefined:
      case '':
        allow('GET');
        return sendJson(res, 200, { sweep, table: await found.table() });
      case 'cancel':
        allow('POST');
        if (!found.here || !sweeps.cancel(id)) throw new ApiError(409, 'conflict', `sweep "${id}" has already ended`, { sweep });
        return sendJson(res, 202, { sweep: sweeps.get(id) });
    }
    throw new ApiError(404, 'not_found', `no API endpoint ${url.pathname}`);
  }

  /** The server's sweeps, then those only the bucket has; a bucket that cannot be listed is logged and left out. */
  async #listSweeps(): Promise<SweepSummary[]> {
    const own = this.#c.sweeps.list();
    const remote = this.#c.remoteSweeps;
    if (!remote) return own;
    let stored: SweepSummary[];
    try {
      stored = await remote.list();
    } catch (error) {
      this.#c.engine.logger.warn(`the sweeps in ${remote.store.where} cannot be listed (${(error as Error).message}); GET /api/sweeps lists this server's own`);
      return own;
    }
    const here = new Set(own.map((s) => s.id));
    return [...own, ...stored.filter((s) => !here.has(s.id))].sort((a, b) => b.id.localeCompare(a.id));
  }

  /** A sweep of this server, else one stored in the bucket (502 when the bucket cannot be read). */
  async #sweep(id: string): Promise<{ sweep: SweepSummary; here: boolean; table: () => Promise<SweepTable | undefined> } | undefined> {
    if (!RUN_ID_PATTERN.test(id)) return undefined;
    const { sweeps } = this.#c;
    const sweep = sweeps.get(id);
    if (sweep) return { sweep, here: true, table: () => sweeps.table(id) };
    const remote = this.#c.remoteSweeps;
    if (!remote) return undefined;
    let table: SweepTable | undefined;
    try {
      table = await remote.table(id);
    } catch (error) {
      throw new ApiError(502, 'internal', `the sweep store cannot be read: ${(error as Error).message}`);
    }
    const stored = table && (await remote.summary(id));
    return stored && { sweep: stored, here: false, table: async () => table };
  }

  async #graphs(req: IncomingMessage, res: ServerResponse, method: string, allow: Allow, path: string[]): Promise<void> {
    const { graphsDir } = this.#c;
    const rel = path.join('/');
    if (rel === '') {
      allow('GET');
      return sendJson(res, 200, { graphs: await this.#listGraphs() });
    }
    if (!GRAPH_PATH.test(rel)) throw new ApiError(400, 'bad_request', `"${rel}" is not a graph path: use names like "demo.json" or "folder/name.json" inside graphs/`);
    allow('GET', 'PUT');
    if (method === 'GET') {
      const file = await confined(graphsDir, rel);
      if (!file) throw new ApiError(404, 'not_found', `no graph "graphs/${rel}"`);
      return sendFile(res, file, false);
    }
    const body = await this.#body(req, 'saveGraph');
    // The real path, after following every symlink of the part that exists, must stay in
    // graphs/; a dangling link is refused too (writing through it would create its target).
    // One message for every refusal, so a save cannot probe what exists outside.
    let target: string;
    try {
      target = await new Workspace(graphsDir).resolve(rel, 'write');
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
    const { graphsDir } = this.#c;
    const out: { path: string; name?: string; description?: string }[] = [];
    const files = await walkFiles(graphsDir, { maxDepth: 4, skip: (name, isDir) => name.startsWith('.') || (!isDir && !name.endsWith('.json')) });
    for (const p of files) {
      const rel = relative(graphsDir, p).split(sep).join('/');
      let meta: { name?: unknown; description?: unknown } = {};
      try {
        meta = JSON.parse(await readFile(p, 'utf8')) as typeof meta;
      } catch {
        // Listed anyway, without a name: opening it reports the problem.
      }
      out.push({ path: rel, ...(typeof meta.name === 'string' ? { name: meta.name } : {}), ...(typeof meta.description === 'string' ? { description: meta.description } : {}) });
    }
    return out;
  }

  /** Workspace files for file-path widgets (workspace-relative, at most 2000, no runs/ or node_modules/). */
  async #workspaceFiles(ext?: string): Promise<string[]> {
    const { workspace } = this.#c;
    const exts = ext ? ext.split(',').map((e) => (e.startsWith('.') ? e : '.' + e).toLowerCase()) : undefined;
    const files = await walkFiles(workspace, {
      maxDepth: 6,
      limit: 2000,
      skip: (name, isDir) => name.startsWith('.') || SKIP_DIRS.has(name) || (!isDir && !!exts && !exts.includes(extname(name).toLowerCase())),
    });
    return files.map((p) => relative(workspace, p).split(sep).join('/'));
  }

  /** Reads and schema-checks a JSON body. */
  async #body(req: IncomingMessage, schema: keyof typeof BODY_SCHEMAS): Promise<Record<string, unknown>> {
    const body = await readJsonBody(req, this.#c.maxBodyBytes);
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
    const issues = capIssues([...migration.issues, ...this.#c.engine.validate(migration.graph)]);
    return { graph: migration.graph, issues, ...(migration.migratedFrom !== undefined ? { migratedFrom: migration.migratedFrom } : {}) };
  }
}

function invalidGraph(all: ValidationIssue[], code: 'invalid_graph' | 'invalid_sweep' = 'invalid_graph', what = 'graph is invalid'): ApiError {
  const issues = capIssues(all);
  // Keyed by node ids, which are user text (e.g. "__proto__").
  const nodeErrors: Record<string, ValidationIssue[]> = Object.create(null);
  for (const i of issues) if (i.nodeId !== undefined) (nodeErrors[i.nodeId] ??= []).push(i);
  return new ApiError(400, code, `${what} (${all.length} problem${all.length === 1 ? '' : 's'})`, { issues, nodeErrors });
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** The files of a run directory with their sizes. */
async function listFiles(dir: string): Promise<{ path: string; size: number }[]> {
  // Half-written atomic writes (.name.tmp) are not files of the run yet.
  const files = await walkFiles(dir, { maxDepth: 8, skip: (name) => name.startsWith('.') && name.endsWith('.tmp') });
  const out: { path: string; size: number }[] = [];
  for (const p of files) out.push({ path: relative(dir, p).split(sep).join('/'), size: (await stat(p)).size });
  return out;
}
