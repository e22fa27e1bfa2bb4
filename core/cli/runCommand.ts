import { randomUUID } from 'node:crypto';
import type { ProviderChoice } from '../graph/providers.ts';
import { join, resolve, basename } from 'node:path';
import { loadGraphFile } from '../graph/loadGraphFile.ts';
import { applyOverrides } from '../graph/applyOverrides.ts';
import { dedupeIssues, formatIssue } from '../graph/ValidationIssue.ts';
import type { GraphDocument } from '../graph/GraphDocument.ts';
import type { ExecutionEvent } from '../engine/events.ts';
import { formatEvent } from './formatEvent.ts';
import { TtyProgress } from './TtyProgress.ts';
import { toWireValue } from '../util/summarizeValue.ts';
import { EXIT, type CliIo } from './CliIo.ts';
import { clearRunRecord, findRunRecord } from '../records/recordFiles.ts';
import { RunRecordWriter } from '../records/RunRecordWriter.ts';
import { RUN_RECORD_FORMAT, RUN_RECORD_VERSION, TERMINAL_STATUS, type RunRecord } from '../records/RunRecord.ts';
import { DiskWriteError } from '../util/diskError.ts';
import type { Engine } from '../engine/Engine.ts';
import type { WorkspaceOptions } from '../services/Workspace.ts';

/**
 * `tessera run`: load, override, validate (exit 2 with every problem), run with live progress,
 * and leave the graph as run, its events and a summary in the run directory. An --out that holds
 * an earlier record is refused (exit 2) unless `force`; a record that cannot be written (disk
 * full, read-only, permissions) is one line on stderr and exit 1.
 */
export async function runCommand(file: string, opts: { set: string[]; seed?: number; provider?: ProviderChoice; out?: string; allowOutsideWorkspace?: boolean; force?: boolean; json?: boolean; target: string[]; cache: boolean }, io: CliIo, loadEngine: (workspace: WorkspaceOptions) => Promise<Engine>): Promise<number> {
  const loaded = await loadGraphFile(file);
  let issues = [...loaded.issues];
  let graph = loaded.graph;
  if (graph && opts.set.length) {
    const o = applyOverrides(graph, opts.set);
    graph = o.graph;
    issues.push(...o.issues);
  }
  const engine = await loadEngine({ allowOutside: opts.allowOutsideWorkspace === true });
  if (graph) issues.push(...engine.validate(graph));
  for (const t of opts.target) if (graph && !graph.nodes?.[t]) issues.push({ code: 'invalid_override', pointer: '', message: `--target: no node "${t}" in the graph` });
  issues = dedupeIssues(issues);
  if (issues.length || !graph) {
    if (opts.json) io.stdout.write(JSON.stringify({ type: 'run:invalid', file, issues }) + '\n');
    io.stderr.write(`${file}: graph is invalid (${issues.length} problem${issues.length === 1 ? '' : 's'})\n${issues.map((i) => '  ' + formatIssue(i)).join('\n')}\n`);
    return EXIT.invalid;
  }
  const outDir = resolve(opts.out ?? join('runs', `${basename(file).replace(/\.json$/, '')}-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  const prior = await findRunRecord(outDir);
  if (prior && !opts.force) {
    io.stderr.write(`error: ${outDir} already holds a run record (${prior}); choose another --out, or pass --force to replace it (graph.json, events.jsonl and run.json are deleted; other files stay)\n`);
    return EXIT.invalid;
  }
  const controller = new AbortController();
  // The record (core/records, the same as the server's): graph.json, run.json and events.jsonl.
  // If events cannot be written the run stops: its results would have no record.
  const record = new RunRecordWriter(outDir, { onError: () => controller.abort() });
  const runId = randomUUID();
  const startedAt = new Date().toISOString();
  let eventCount = 0;
  const summary = (status: RunRecord['status'], extra: Partial<RunRecord> = {}): RunRecord => ({
    format: RUN_RECORD_FORMAT, version: RUN_RECORD_VERSION, runId, status, writer: 'cli', file,
    ...(graph!.name ? { graphName: graph!.name } : {}), ...(opts.seed !== undefined ? { seed: opts.seed } : graph!.seed !== undefined ? { seed: graph!.seed } : {}),
    ...(opts.provider !== undefined ? { provider: opts.provider } : graph!.provider !== undefined ? { provider: graph!.provider } : {}),
    createdAt: startedAt, startedAt, eventCount, ...extra,
  });
  // The record is claimed before anything runs: run.json says "running" until the end, so a
  // killed run is recognisable, and an unwritable --out fails here, before any work is done.
  try {
    if (prior) await clearRunRecord(outDir);
    await record.begin(graph, () => summary('running', { pid: process.pid }));
  } catch (error) {
    return recordError(error, io);
  }
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(EXIT.cancelled);
    io.stderr.write('\ncancelling… (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  const tty = !opts.json && io.stdout.isTTY ? new TtyProgress(io.stdout as NodeJS.WriteStream) : undefined;
  const deciles = new Map<string, number>();
  // Events are appended as they happen, so a run that is killed (not just cancelled) still
  // leaves its record up to that point.
  const log = record.events;
  let last: ExecutionEvent | undefined;
  try {
    await new Promise<void>((done, fail) => {
      engine.run(graph as GraphDocument, { ...(opts.seed !== undefined ? { seed: opts.seed } : {}), ...(opts.provider !== undefined ? { provider: opts.provider } : {}), echoNodeLogs: false, runId, outDir, targets: opts.target, useCache: opts.cache, signal: controller.signal, backpressure: () => log.drained() }).subscribe({
        next: (e) => {
          last = e;
          eventCount++;
          const line = JSON.stringify(toWireValue(e));
          log.append(line);
          if (opts.json) io.stdout.write(line + '\n');
          else if (tty) tty.handle(e);
          else {
            const line = formatEvent(e, deciles);
            if (line !== undefined) io.stdout.write(line + '\n');
          }
        },
        error: fail,
        complete: done,
      });
    });
  } finally {
    tty?.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    // Closed before anything is decided: the last lines' write error shows only here.
    await log.close();
  }
  const ending = { finishedAt: new Date().toISOString(), ...(last && 'durationMs' in last && last.type.startsWith('run:') ? { durationMs: last.durationMs } : {}) };
  if (log.error) {
    // Best effort: on a full disk this write fails too, and run.json keeps saying "running".
    await record.finish(() => summary('failed', { ...ending, error: recordErrorText(log.error!) })).catch(() => undefined);
    return recordError(log.error, io);
  }
  try {
    const status = TERMINAL_STATUS.get(last?.type ?? '') ?? 'failed';
    await record.finish(() => summary(status, { ...ending, ...(last?.type === 'run:done' ? { results: toWireValue(last.results) as Record<string, unknown> } : {}), ...(last?.type === 'run:failed' ? { errors: toWireValue(last.errors) as RunRecord['errors'] } : {}) }));
  } catch (error) {
    return recordError(error, io);
  }
  if (last?.type === 'run:done') return EXIT.ok;
  if (last?.type === 'run:cancelled') return EXIT.cancelled;
  return EXIT.nodeFailure;
}

/** One line for a record that could not be written (exit 1); anything else is a bug and rethrown. */
function recordError(error: unknown, io: CliIo): number {
  if (!(error instanceof DiskWriteError)) throw error;
  io.stderr.write(`error: ${recordErrorText(error)}\n`);
  return EXIT.nodeFailure;
}

const recordErrorText = (e: Error) => (e instanceof DiskWriteError ? `cannot write run record: ${e.reason} (${e.code}) at ${e.path}` : `cannot write run record: ${e.message}`);
