import { join } from 'node:path';
import type { ProviderChoice } from '../graph/providers.ts';
import { writeFileAtomic } from '../util/writeFileAtomic.ts';
import type { GridAxis } from './parseGrid.ts';
import type { SweepCell } from './sweepCells.ts';
import type { SweepTarget, SweepRunEnd } from './SweepTarget.ts';
import { errorLine, scalarOutputs, SWEEP_FORMAT, SWEEP_VERSION, sweepMarkdown, tableSummary, type SweepMeta, type SweepRow, type SweepTable } from './SweepTable.ts';

/** The aggregate table's files in the sweep folder. */
export const SWEEP_FILES = { json: 'sweep.json', markdown: 'sweep.md' } as const;

/** Writes a sweep's table as sweep.json and sweep.md in `dir` (each atomically: temp + rename). */
export async function writeSweepTable(dir: string, table: SweepTable): Promise<void> {
  await writeFileAtomic(join(dir, SWEEP_FILES.json), JSON.stringify(table, null, 2) + '\n');
  await writeFileAtomic(join(dir, SWEEP_FILES.markdown), sweepMarkdown(table));
}

export interface SweepPlan {
  readonly graphFile: string;
  readonly graphHash: string;
  readonly graphName?: string;
  readonly axes: readonly GridAxis[];
  readonly seeds: readonly number[];
  readonly cells: readonly SweepCell[];
  /** The sweep folder: sweep.json and sweep.md are written there. */
  readonly outDir: string;
  /** Rows of an earlier sweep.json in `outDir` (same graph), by cell key. */
  readonly previous: ReadonlyMap<string, SweepRow>;
  /** The provider every run is asked for (absent: each run's graph decides). */
  readonly provider?: ProviderChoice;
  /** More fields of the table (a server's sweep: id, label, state…), read at each write. */
  readonly meta?: () => SweepMeta;
}

/** What a caller may add to a sweep besides its plan. */
export interface SweepHooks {
  /** Once aborted, cells not yet submitted end `cancelled` without running (the caller cancels the submitted ones). */
  readonly signal?: AbortSignal;
  /**
   * Called on each change of the table (a run queued or ended), with a function that builds the
   * table as it stands: a server tells its clients, as often as it sees fit.
   */
  readonly onChange?: (snapshot: () => SweepTable) => void;
}

/**
 * Runs every cell of `plan` on `target` and keeps the aggregate table (sweep.json + sweep.md,
 * atomic writes) up to date as runs end. Cells an earlier sweep finished (`done`) are kept, not
 * run again; a run an earlier sweep left unfinished on a server is waited for again; every other
 * cell is submitted, at most `target.inFlight` cells at a time. Resolves with the final table
 * once every run has ended. A table write that fails while runs are in flight (a full disk) is
 * reported through `warn` and the runs go on (the next write brings the table up to date); the
 * first and the last write reject (a DiskWriteError), before anything runs and once all have ended.
 */
export async function runSweep(plan: SweepPlan, target: SweepTarget, note: (line: string) => void, warn: (line: string) => void = note, hooks: SweepHooks = {}): Promise<SweepTable> {
  const rows: SweepRow[] = plan.cells.map((c) => {
    const before = plan.previous.get(c.key);
    if (before?.status === 'done') return { ...before, index: c.index };
    return { index: c.index, key: c.key, params: c.params, seed: c.seed, status: 'pending' };
  });
  const snapshot = () => tableOf(plan, target, rows);
  let table = snapshot();
  let writing: Promise<void> = Promise.resolve();
  /** The write queued behind the one under way, if any: it writes the newest table when its turn comes. */
  let queued: Promise<void> | undefined;
  const save = () => {
    hooks.onChange?.(snapshot);
    // One write after another, so an older table never lands over a newer one; saves that come
    // while a write waits share it (a 10 000-run sweep queues its runs without 10 000 writes).
    // A failed write does not stop the ones after it (each caller hears of its own).
    if (queued) return queued;
    const next = writing.catch(() => undefined).then(async () => {
      queued = undefined;
      await writeSweepTable(plan.outDir, (table = snapshot()));
    });
    queued = next;
    writing = next;
    return next;
  };
  /** A save while runs are in flight: its failure is reported, the sweep goes on. */
  // Callers that shared one failed write hear of it once.
  const warned = new WeakSet<Promise<void>>();
  const saveOrWarn = () => {
    const write = save();
    return write.catch((error: unknown) => {
      if (warned.has(write)) return;
      warned.add(write);
      warn(`the sweep table was not updated: ${(error as Error).message}`);
    });
  };
  // Runs that started (where the target tells): by run id, the row; or, before the row knows its run, kept here.
  const rowOfRun = new Map<string, number>();
  const startedEarly = new Set<string>();
  target.watchStarts?.((runId) => {
    const i = rowOfRun.get(runId);
    if (i === undefined) return void startedEarly.add(runId);
    if (rows[i]!.status !== 'queued') return;
    rows[i] = { ...rows[i]!, status: 'running' };
    void saveOrWarn();
  });
  const kept = rows.filter((r) => r.status === 'done').length;
  if (kept) note(`${kept} of ${rows.length} runs already done in ${plan.outDir}; running the other ${rows.length - kept}`);
  await save();
  const label = (c: SweepCell) => `${plan.graphName ?? plan.graphFile} [${[...c.params.map((p) => `${p.node}.${p.param}=${JSON.stringify(p.value)}`), `seed=${c.seed}`].join(' ')}]`;
  const finish = (c: SweepCell, runId: string | undefined, end: SweepRunEnd | { status: 'failed'; message: string }) => {
    const error = 'message' in end ? end.message : errorLine(end.errors);
    if (runId !== undefined) rowOfRun.delete(runId);
    rows[c.index] = {
      index: c.index, key: c.key, params: c.params, seed: c.seed, status: end.status,
      ...(runId !== undefined ? { runId } : {}),
      ...('durationMs' in end && end.durationMs !== undefined ? { durationMs: end.durationMs } : {}),
      ...('results' in end && end.results ? { outputs: scalarOutputs(end.results) } : {}),
      ...(end.status !== 'done' && error ? { error } : {}),
    };
    note(`run ${c.index + 1}/${rows.length} ${end.status}${runId ? ` (${runId})` : ''}: ${label(c)}${end.status !== 'done' && error ? ` — ${error}` : ''}`);
    return saveOrWarn();
  };
  const one = async (c: SweepCell): Promise<void> => {
    const before = plan.previous.get(c.key);
    if (before?.status === 'done') return;
    if (target.reattach && before?.runId && (before.status === 'queued' || before.status === 'running' || before.status === 'pending')) {
      let end: SweepRunEnd | undefined;
      try {
        end = await target.wait(before.runId);
      } catch {
        // The server no longer knows it: run the cell again.
      }
      if (end) return finish(c, before.runId, end);
    }
    if (hooks.signal?.aborted) return finish(c, undefined, { status: 'cancelled' });
    let runId: string;
    try {
      runId = await target.submit({ graph: c.graph, seed: c.seed, label: label(c), ...(plan.provider ? { provider: plan.provider } : {}) });
    } catch (error) {
      await finish(c, undefined, { status: 'failed', message: `not submitted: ${(error as Error).message}` });
      return;
    }
    rows[c.index] = { ...rows[c.index]!, runId, status: startedEarly.delete(runId) ? 'running' : 'queued' };
    rowOfRun.set(runId, c.index);
    await saveOrWarn();
    let end: SweepRunEnd | { status: 'failed'; message: string };
    try {
      end = await target.wait(runId);
    } catch (error) {
      end = { status: 'failed', message: `lost track of the run: ${(error as Error).message}` };
    }
    await finish(c, runId, end);
  };
  await eachLimited(plan.cells, target.inFlight ?? plan.cells.length, one);
  await save();
  return table;
}

/** Calls `work` on every item, at most `limit` at a time; resolves when all have resolved. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

function tableOf(plan: SweepPlan, target: SweepTarget, rows: readonly SweepRow[]): SweepTable {
  const { columns, counts } = tableSummary(rows);
  return {
    format: SWEEP_FORMAT, version: SWEEP_VERSION, ...plan.meta?.(), graph: plan.graphFile, graphHash: plan.graphHash,
    ...(plan.graphName ? { graphName: plan.graphName } : {}),
    where: target.where,
    ...(target.runsDir ? { runsDir: target.runsDir } : {}),
    grid: plan.axes.map((a) => ({ node: a.nodeId, param: a.path.join('.'), values: a.values })),
    seeds: plan.seeds, updatedAt: new Date().toISOString(), counts, columns, rows,
  };
}
