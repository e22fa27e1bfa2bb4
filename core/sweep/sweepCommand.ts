import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { EXIT, type CliIo } from '../cli/CliIo.ts';
import type { Engine } from '../engine/Engine.ts';
import { loadGraphFile } from '../graph/loadGraphFile.ts';
import { capIssues, dedupeIssues, formatIssue, type ValidationIssue } from '../graph/ValidationIssue.ts';
import { canonicalJson } from '../util/canonicalJson.ts';
import { DiskWriteError } from '../util/diskError.ts';
import { sha256 } from '../util/hash.ts';
import { ENGINE_API_VERSION } from '../version.ts';
import { parseGrid } from './parseGrid.ts';
import { runSweep, SWEEP_FILES } from './runSweep.ts';
import { planSweep } from './planSweep.ts';
import { parseSweepTable, type SweepMeta, type SweepRow } from './SweepTable.ts';
import type { SweepTarget } from './SweepTarget.ts';
import type { ServerSweepPlan } from './serverSweep.ts';
import { artifactsOption } from '../storage/artifactsOption.ts';
import { putSweepTable } from '../storage/uploadSweepTables.ts';
import { newRunId } from '../server/runId.ts';

/** Options of `tessera sweep`. */
export interface SweepOptions {
  grid: readonly string[];
  seeds?: string;
  /** The sweep folder (default sweeps/<graph file name>): sweep.json, sweep.md and, run here or through Redis, runs/. */
  out?: string;
  /** A running `tessera serve` to submit the runs to. */
  server?: string;
  token?: string;
  /** A redis:// URL: the runs go to `tessera worker`s through BullMQ. */
  queue?: string;
  insecureRedis?: boolean;
  /** --redis-ca: the CA file that signed a `rediss://` Redis's certificate. */
  redisCa?: string;
  /** The Redis password when the `queue` URL has none ($TESSERA_REDIS_PASSWORD). */
  redisPassword?: string;
  /** --artifacts s3://bucket/prefix (with --queue): the jobs name the bucket (workers with it upload there), and the table goes there too. */
  artifacts?: string;
  /** --s3-endpoint: an S3-compatible server. */
  s3Endpoint?: string;
  /** Run folders (in-process and --queue; default <out>/runs); with --queue, the workers' --runs-dir. */
  runsDir?: string;
  /**
   * Runs executed at once in this process (default 1); with --server, cells submitted and polled
   * at once (default 4). A --queue sweep hands every cell to Redis.
   */
  concurrency?: number;
  engine: Engine | (() => Promise<Engine>);
}

/**
 * `tessera sweep graph.json --grid node.param=a,b,c --seeds 0,1,2`: one run per grid cell and
 * seed, through this process's run queue, a Redis queue or a server; writes the aggregate table
 * (sweep.json, sweep.md) as runs end. Everything is checked before anything runs (exit 2 with
 * every problem). A sweep folder that holds a table of the same graph is resumed: cells already
 * done are kept. Exit 0 when every run is done, 1 otherwise.
 */
export async function sweepCommand(file: string, opts: SweepOptions, io: CliIo): Promise<number> {
  const usage = (message: string) => {
    io.stderr.write(`error: ${message}\n`);
    return EXIT.invalid;
  };
  if (opts.server !== undefined && opts.queue !== undefined) return usage('--server and --queue exclude each other: a server with --queue hands its runs to Redis itself');
  if (opts.server !== undefined && opts.runsDir !== undefined) return usage("--runs-dir has no meaning with --server (the server's runs stay in its own folder)");
  if (opts.concurrency !== undefined && (!Number.isInteger(opts.concurrency) || opts.concurrency < 1)) return usage('--concurrency must be a positive integer');
  if (opts.server !== undefined && !/^https?:\/\//.test(opts.server)) return usage(`--server must be an http:// or https:// URL (got ${JSON.stringify(opts.server)})`);
  if (opts.redisCa !== undefined && opts.queue === undefined) return usage('--redis-ca has a meaning only with --queue');
  if ((opts.artifacts !== undefined || opts.s3Endpoint !== undefined) && opts.queue === undefined) return usage('--artifacts goes with --queue (its workers upload the runs); a --server sweep uses the server\'s own --artifacts');
  const connection = opts.queue === undefined ? undefined : await import('../queue/redisConnection.ts').then((m) => m.redisConnectionOrProblem(opts.queue!, { insecure: opts.insecureRedis === true, password: opts.redisPassword, caFile: opts.redisCa }));
  if (typeof connection === 'string') return usage(connection);
  const store = await artifactsOption(opts);
  if (typeof store === 'string') return usage(store);
  // The store's client keeps keep-alive sockets: closed on every way out, or they could hold the process.
  try {
    const loaded = await loadGraphFile(file);
    const graph = loaded.graph;
    const issues: ValidationIssue[] = [...loaded.issues];
    const engine = typeof opts.engine === 'function' ? await opts.engine() : opts.engine;
    if (!graph) return invalid(file, issues, io);
    const { axes, seeds, cells, issues: found } = planSweep(engine, graph, (paramNames) => parseGrid(graph, opts.grid, opts.seeds, paramNames));
    issues.push(...found);
    if (issues.length) return invalid(file, issues, io);

    const outDir = resolve(opts.out ?? join('sweeps', basename(file).replace(/\.json$/, '')));
    const graphHash = sha256(canonicalJson(graph));
    const previous = new Map<string, SweepRow>();
    let followed: SweepMeta['server'];
    /** With --artifacts: the sweep's id, naming its folder in the bucket (a resume keeps it). */
    let sweepId: string | undefined;
    const tablePath = join(outDir, SWEEP_FILES.json);
    let text: string | undefined;
    try {
      text = await readFile(tablePath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return usage(`cannot read ${tablePath}: ${(error as Error).message}`);
    }
    if (text !== undefined) {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        raw = undefined;
      }
      const before = parseSweepTable(raw);
      if (!before) return usage(`${tablePath} is not a sweep table; choose another --out`);
      if (before.graphHash !== graphHash) return usage(`${outDir} holds a sweep of another graph (or of this file before it changed); choose another --out to start a new sweep`);
      for (const r of before.rows) previous.set(r.key, r);
      followed = before.server;
      sweepId = before.id;
    }
    if (opts.server !== undefined && (followed || ![...previous.values()].some((r) => r.runId))) {
      return sweepOnServer(file, { server: opts.server, token: opts.token, graph, graphHash, axes, seeds, outDir, ...(followed ? { previous: followed } : {}) }, io);
    }

    let target: SweepTarget;
    const runsDir = resolve(opts.runsDir ?? join(outDir, 'runs'));
    if (opts.server !== undefined) {
      const { serverTarget } = await import('./serverTarget.ts');
      target = serverTarget(opts.server, opts.token, opts.concurrency !== undefined ? { inFlight: opts.concurrency } : {});
    } else {
      const { queueTarget } = await import('./queueTarget.ts');
      const backend = connection && (await import('../queue/RedisRunBackend.ts').then((m) => m.RedisRunBackend.connect(connection, { engineVersion: ENGINE_API_VERSION, logger: engine.logger, ...(store ? { artifacts: store.where } : {}) })).catch((error: unknown) => String((error as Error).message)));
      if (typeof backend === 'string') return usage(backend);
      if (connection) {
        io.stdout.write(`runs go to redis ${connection.host}:${connection.port}; start workers with ${store ? `--artifacts ${store.where}` : `--runs-dir ${runsDir}`}\n`);
      }
      target = queueTarget({ engine, runsDir, concurrency: opts.concurrency ?? 1, where: connection ? `redis ${connection.host}:${connection.port}` : 'in-process', ...(backend ? { backend } : {}) });
    }
    io.stdout.write(`sweep of ${file}: ${cells.length} run${cells.length === 1 ? '' : 's'} (${axes.map((a) => `${a.nodeId}.${a.path.join('.')} × ${a.values.length}`).concat(`${seeds.length} seed${seeds.length === 1 ? '' : 's'}`).join(', ')}) → ${outDir}\n`);
    let table;
    try {
      if (store) sweepId ??= newRunId();
      const id = sweepId;
      table = await runSweep({ graphFile: file, graphHash, ...(graph.name ? { graphName: graph.name } : {}), axes: axes, seeds: seeds, cells, outDir, previous, ...(id ? { meta: () => ({ id }) } : {}) }, target, (line) => io.stdout.write(`${line}\n`), (line) => io.stderr.write(`warning: ${line}\n`));
    } catch (error) {
      if (!(error instanceof DiskWriteError)) throw error;
      io.stderr.write(`error: cannot write the sweep table: ${error.reason} (${error.code}) at ${error.path}\n`);
      return EXIT.nodeFailure;
    } finally {
      await target.close();
    }
    if (store && sweepId) {
      // The table next to the runs in the bucket, where `serve --artifacts` lists it (GET /api/sweeps).
      try {
        await putSweepTable(store, sweepId, outDir);
        io.stdout.write(`table stored in ${store.where}/sweeps/${sweepId}/\n`);
      } catch (error) {
        io.stderr.write(`warning: the sweep table could not be stored in ${store.where} (${(error as Error).message}); it is in ${outDir}\n`);
      }
    }
    const done = table.rows.filter((r) => r.status === 'done').length;
    io.stdout.write(`${done}/${table.rows.length} runs done; table: ${join(outDir, SWEEP_FILES.markdown)} and ${SWEEP_FILES.json}\n`);
    return done === table.rows.length ? EXIT.ok : EXIT.nodeFailure;
  } finally {
    store?.close();
  }
}

/**
 * `--server`: the sweep goes to the server as one object (POST /api/sweeps), which queues its runs
 * and keeps its table; this command follows it and mirrors the table into its --out folder.
 * (A folder whose table lists runs submitted one by one, by an earlier version, is resumed that
 * way instead: its runs are separate runs on the server, not a sweep it knows.)
 */
async function sweepOnServer(file: string, plan: Omit<ServerSweepPlan, 'graphFile' | 'requestMs'>, io: CliIo): Promise<number> {
  const { followServerSweep, SweepRefused } = await import('./serverSweep.ts');
  io.stdout.write(`sweep of ${file}: ${plan.axes.reduce((n, a) => n * a.values.length, 1) * plan.seeds.length} runs, submitted to ${plan.server} as one sweep → ${plan.outDir}\n`);
  let table;
  try {
    table = await followServerSweep({ ...plan, graphFile: file }, (line) => io.stdout.write(`${line}\n`), (line) => io.stderr.write(`warning: ${line}\n`));
  } catch (error) {
    if (error instanceof SweepRefused) {
      io.stderr.write(`${file}: the server refused the sweep; nothing was run\n  ${error.message}\n`);
      return EXIT.invalid;
    }
    if (error instanceof DiskWriteError) {
      io.stderr.write(`error: cannot write the sweep table: ${error.reason} (${error.code}) at ${error.path}\n`);
      return EXIT.nodeFailure;
    }
    io.stderr.write(`error: the sweep could not be run on ${plan.server}: ${(error as Error).message}\n`);
    return EXIT.nodeFailure;
  }
  const done = table.rows.filter((r) => r.status === 'done').length;
  io.stdout.write(`${done}/${table.rows.length} runs done; table: ${join(plan.outDir, SWEEP_FILES.markdown)} and ${SWEEP_FILES.json}\n`);
  return done === table.rows.length ? EXIT.ok : EXIT.nodeFailure;
}

function invalid(file: string, found: readonly ValidationIssue[], io: CliIo): number {
  const issues = capIssues(dedupeIssues(found));
  io.stderr.write(`${file}: the sweep is invalid (${issues.length} problem${issues.length === 1 ? '' : 's'}); nothing was run\n${issues.map((i) => '  ' + formatIssue(i)).join('\n')}\n`);
  return EXIT.invalid;
}
