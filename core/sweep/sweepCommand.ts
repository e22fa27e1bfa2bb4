import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { EXIT, type CliIo } from '../cli/CliIo.ts';
import type { Engine } from '../engine/Engine.ts';
import { loadGraphFile } from '../graph/loadGraphFile.ts';
import { capIssues, dedupeIssues, formatIssue, type ValidationIssue } from '../graph/ValidationIssue.ts';
import { canonicalJson } from '../util/canonicalJson.ts';
import { DiskWriteError } from '../util/diskError.ts';
import { sha256 } from '../util/hash.ts';
import { isRecord } from '../util/own.ts';
import { ENGINE_API_VERSION } from '../version.ts';
import { parseGrid } from './parseGrid.ts';
import { runSweep, SWEEP_FILES } from './runSweep.ts';
import { sweepCells, type SweepCell } from './sweepCells.ts';
import { parseSweepTable, type SweepRow } from './SweepTable.ts';
import type { SweepTarget } from './SweepTarget.ts';

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
  const connection = opts.queue === undefined ? undefined : await import('../queue/redisUrl.ts').then((m) => m.redisUrlOrProblem(opts.queue!, opts.insecureRedis === true));
  if (typeof connection === 'string') return usage(connection);
  const loaded = await loadGraphFile(file);
  const graph = loaded.graph;
  const issues: ValidationIssue[] = [...loaded.issues];
  const engine = typeof opts.engine === 'function' ? await opts.engine() : opts.engine;
  if (!graph) return invalid(file, issues, io);
  issues.push(...engine.validate(graph));
  // Declared params by node type (a Map: types are plugin text, looked up by exact name).
  const declared = new Map(engine.describeNodes().map((d) => [d.type, isRecord(d.params) && isRecord(d.params.properties) ? Object.keys(d.params.properties) : undefined]));
  const grid = parseGrid(graph, opts.grid, opts.seeds, (type) => declared.get(type));
  issues.push(...grid.issues);
  if (issues.length) return invalid(file, issues, io);
  const { cells, issues: applied } = sweepCells(graph, grid.axes, grid.seeds);
  issues.push(...applied);
  // Every cell's graph as it will run: a value a param's schema refuses is found now, not mid-sweep.
  const checked = new Set<SweepCell['graph']>();
  for (const c of cells) {
    if (checked.has(c.graph)) continue;
    checked.add(c.graph);
    const where = c.params.map((p) => `${p.node}.${p.param}=${JSON.stringify(p.value)}`).join(' ');
    for (const i of engine.validate(c.graph)) issues.push({ ...i, message: `with ${where}: ${i.message}` });
  }
  if (issues.length) return invalid(file, issues, io);

  const outDir = resolve(opts.out ?? join('sweeps', basename(file).replace(/\.json$/, '')));
  const graphHash = sha256(canonicalJson(graph));
  const previous = new Map<string, SweepRow>();
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
  }

  let target: SweepTarget;
  const runsDir = resolve(opts.runsDir ?? join(outDir, 'runs'));
  if (opts.server !== undefined) {
    const { serverTarget } = await import('./serverTarget.ts');
    target = serverTarget(opts.server, opts.token, opts.concurrency !== undefined ? { inFlight: opts.concurrency } : {});
  } else {
    const { queueTarget } = await import('./queueTarget.ts');
    const backend = connection && (await import('../queue/RedisRunBackend.ts').then((m) => m.RedisRunBackend.connect(connection, { engineVersion: ENGINE_API_VERSION, logger: engine.logger })).catch((error: unknown) => String((error as Error).message)));
    if (typeof backend === 'string') return usage(backend);
    if (connection) {
      io.stdout.write(`runs go to redis ${connection.host}:${connection.port}; start workers with --runs-dir ${runsDir}\n`);
    }
    target = queueTarget({ engine, runsDir, concurrency: opts.concurrency ?? 1, where: connection ? `redis ${connection.host}:${connection.port}` : 'in-process', ...(backend ? { backend } : {}) });
  }
  io.stdout.write(`sweep of ${file}: ${cells.length} run${cells.length === 1 ? '' : 's'} (${grid.axes.map((a) => `${a.nodeId}.${a.path.join('.')} × ${a.values.length}`).concat(`${grid.seeds.length} seed${grid.seeds.length === 1 ? '' : 's'}`).join(', ')}) → ${outDir}\n`);
  let table;
  try {
    table = await runSweep({ graphFile: file, graphHash, ...(graph.name ? { graphName: graph.name } : {}), axes: grid.axes, seeds: grid.seeds, cells, outDir, previous }, target, (line) => io.stdout.write(`${line}\n`), (line) => io.stderr.write(`warning: ${line}\n`));
  } catch (error) {
    if (!(error instanceof DiskWriteError)) throw error;
    io.stderr.write(`error: cannot write the sweep table: ${error.reason} (${error.code}) at ${error.path}\n`);
    return EXIT.nodeFailure;
  } finally {
    await target.close();
  }
  const done = table.rows.filter((r) => r.status === 'done').length;
  io.stdout.write(`${done}/${table.rows.length} runs done; table: ${join(outDir, SWEEP_FILES.markdown)} and ${SWEEP_FILES.json}\n`);
  return done === table.rows.length ? EXIT.ok : EXIT.nodeFailure;
}

function invalid(file: string, found: readonly ValidationIssue[], io: CliIo): number {
  const issues = capIssues(dedupeIssues(found));
  io.stderr.write(`${file}: the sweep is invalid (${issues.length} problem${issues.length === 1 ? '' : 's'}); nothing was run\n${issues.map((i) => '  ' + formatIssue(i)).join('\n')}\n`);
  return EXIT.invalid;
}
