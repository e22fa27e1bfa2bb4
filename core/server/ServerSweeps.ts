import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../services/Logger.ts';
import type { GraphDocument } from '../graph/GraphDocument.ts';
import type { ProviderChoice } from '../graph/providers.ts';
import { RECORD_FILES } from '../records/recordFiles.ts';
import { lastEvent } from '../records/readEvents.ts';
import type { GridAxis } from '../sweep/parseGrid.ts';
import { runQueueTarget } from '../sweep/queueTarget.ts';
import { runSweep, SWEEP_FILES, writeSweepTable } from '../sweep/runSweep.ts';
import type { SweepCell } from '../sweep/sweepCells.ts';
import { errorLine, parseSweepTable, scalarOutputs, tableSummary, type SweepRow, type SweepTable } from '../sweep/SweepTable.ts';
import { isRecord } from '../util/own.ts';
import { UNFINISHED_ROW, type SweepSummary } from '../wire/sweeps.ts';
import type { RunQueue } from './RunQueue.ts';
import { newRunId, RUN_ID_PATTERN } from './runId.ts';

/** The sweeps folder inside the server's runs folder. */
export const SWEEPS_FOLDER = 'sweeps';
/** Least time between two `sweep` messages of one sweep (its first and last go at once). */
const MESSAGE_MS = 250;

/** A checked sweep to start (see core/sweep/planSweep.ts). */
export interface SweepStart {
  readonly graph: GraphDocument;
  readonly graphHash: string;
  readonly axes: readonly GridAxis[];
  readonly seeds: readonly number[];
  readonly cells: readonly SweepCell[];
  readonly label?: string;
  readonly provider?: ProviderChoice;
  /** An ended sweep of the same graph whose done rows are kept. */
  readonly resume?: { readonly id: string; readonly rows: readonly SweepRow[] };
}

interface Active {
  readonly id: string;
  readonly controller: AbortController;
  cancelled: boolean;
  snapshot: () => SweepTable;
  timer?: NodeJS.Timeout;
  dirty: boolean;
  readonly done: Promise<void>;
}

/**
 * The server's sweeps (`/api/sweeps`): each one runs its cells through the server's own
 * RunQueue (in-process or Redis, whatever the server uses) with core/sweep's runSweep, which
 * keeps its table in `<runs>/sweeps/<id>/sweep.json` and `sweep.md` (the CLI's table, atomic
 * writes) as runs are queued and end. Listeners get a summary of a sweep when it starts and as
 * its counts change (throttled). Sweeps of earlier sessions are listed from their files; rows
 * they left unfinished take the end their run recorded, else `interrupted`.
 */
export class ServerSweeps {
  readonly #queue: RunQueue;
  readonly #logger: Logger;
  readonly #where: string;
  readonly #dir: string;
  /** Every sweep known, by id (ids sort by time). */
  readonly #summaries = new Map<string, SweepSummary>();
  readonly #active = new Map<string, Active>();
  readonly #listeners = new Set<(m: { type: 'sweep'; sweep: SweepSummary }) => void>();

  constructor(options: { queue: RunQueue; logger: Logger; where: string }) {
    this.#queue = options.queue;
    this.#logger = options.logger;
    this.#where = options.where;
    this.#dir = join(options.queue.runsDir, SWEEPS_FOLDER);
  }

  /** Reads the sweeps of earlier sessions (after the queue has read its run history). */
  async load(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const name of names.filter((n) => RUN_ID_PATTERN.test(n) && !this.#summaries.has(n))) {
      try {
        const table = await this.#reconcile(name);
        if (table) this.#summaries.set(name, summaryOf(name, table));
      } catch (error) {
        this.#logger.warn(`sweep ${name}: its record cannot be read (${(error as Error).message}); not listed`);
      }
    }
  }

  /** Subscribes to `sweep` messages; returns the unsubscribe function. */
  onMessage(listener: (m: { type: 'sweep'; sweep: SweepSummary }) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every sweep, newest first. */
  list(): SweepSummary[] {
    return [...this.#summaries.values()].sort((a, b) => b.id.localeCompare(a.id));
  }

  get(id: string): SweepSummary | undefined {
    const active = this.#active.get(id);
    return active ? summaryOf(id, active.snapshot(), true) : this.#summaries.get(id);
  }

  /** The whole table of a sweep: as it stands for a running one, from its file for the others. */
  async table(id: string): Promise<SweepTable | undefined> {
    const active = this.#active.get(id);
    if (active) return active.snapshot();
    if (!this.#summaries.has(id)) return undefined;
    return JSON.parse(await readFile(join(this.#dir, id, SWEEP_FILES.json), 'utf8')) as SweepTable;
  }

  /** Starts a sweep: its runs are queued at once, in cell order. Returns its summary. */
  start(s: SweepStart): SweepSummary {
    const id = newRunId();
    const controller = new AbortController();
    const createdAt = new Date().toISOString();
    const previous = new Map((s.resume?.rows ?? []).map((r) => [r.key, r]));
    const plan = {
      graphFile: s.label ?? s.graph.name ?? 'graph', graphHash: s.graphHash, ...(s.graph.name ? { graphName: s.graph.name } : {}),
      axes: s.axes, seeds: s.seeds, cells: s.cells, outDir: join(this.#dir, id), previous,
      ...(s.provider ? { provider: s.provider } : {}),
      meta: () => ({ id, ...(s.label ? { label: s.label } : {}), ...(s.provider ? { provider: s.provider } : {}), createdAt, ...(active.cancelled ? { cancelled: true } : {}), ...(s.resume ? { resumedFrom: s.resume.id } : {}) }),
    };
    const target = runQueueTarget(this.#queue, { where: this.#where, runsDir: this.#queue.runsDir });
    const note = (line: string) => this.#logger.debug(`sweep ${id}: ${line}`);
    const warn = (line: string) => this.#logger.warn(`sweep ${id}: ${line}`);
    const active: Active = {
      id, controller, cancelled: false, dirty: false,
      snapshot: () => { throw new Error('not started'); },
      done: Promise.resolve(),
    };
    const done = runSweep(plan, target, note, warn, {
      signal: controller.signal,
      onChange: (snapshot) => {
        active.snapshot = snapshot;
        this.#changed(active);
      },
    }).then(
      (table) => this.#summaries.set(id, summaryOf(id, table)),
      (error: unknown) => {
        warn(`its table could not be written (${(error as Error).message})`);
        this.#summaries.set(id, summaryOf(id, active.snapshot()));
      },
    ).finally(() => {
      clearTimeout(active.timer);
      this.#active.delete(id);
      void target.close();
      this.#emit(this.#summaries.get(id)!);
    });
    (active as { done: Promise<void> }).done = done.then(() => undefined);
    this.#active.set(id, active);
    // runSweep has called onChange (its first table) synchronously, before its first write.
    const summary = summaryOf(id, active.snapshot(), true);
    this.#summaries.set(id, summary);
    return summary;
  }

  /**
   * Cancels a running sweep: cells not yet queued end cancelled, queued and running runs are
   * cancelled. Returns false when the sweep had already ended.
   */
  cancel(id: string): boolean {
    const active = this.#active.get(id);
    if (!active) return false;
    active.cancelled = true;
    active.controller.abort();
    for (const row of active.snapshot().rows) if (row.runId && (row.status === 'queued' || row.status === 'running')) this.#queue.cancel(row.runId);
    this.#changed(active);
    return true;
  }

  /** Waits (up to `graceMs`) for the running sweeps to write their last table (their runs are being cancelled by the queue). */
  async close(graceMs = 2000): Promise<void> {
    for (const a of this.#active.values()) a.controller.abort();
    await Promise.race([Promise.all([...this.#active.values()].map((a) => a.done)), new Promise((r) => setTimeout(r, graceMs).unref())]);
  }

  /** Tells listeners now, then at most every MESSAGE_MS while changes keep coming. */
  #changed(a: Active): void {
    if (a.timer) {
      a.dirty = true;
      return;
    }
    this.#emit(summaryOf(a.id, a.snapshot(), true));
    a.timer = setTimeout(() => {
      a.timer = undefined;
      if (a.dirty && this.#active.has(a.id)) {
        a.dirty = false;
        this.#changed(a);
      }
    }, MESSAGE_MS);
    a.timer.unref();
  }

  #emit(sweep: SweepSummary): void {
    for (const l of this.#listeners) {
      try {
        l({ type: 'sweep', sweep });
      } catch (error) {
        this.#logger.debug(`a sweep listener failed: ${(error as Error)?.message ?? String(error)}`);
      }
    }
  }

  /**
   * Reads a sweep of an earlier session; rows it left unfinished take the end their run recorded
   * (a done run's scalar outputs read from its events), else `interrupted`, and the files are
   * rewritten so.
   */
  async #reconcile(id: string): Promise<SweepTable | undefined> {
    const dir = join(this.#dir, id);
    const raw = JSON.parse(await readFile(join(dir, SWEEP_FILES.json), 'utf8')) as unknown;
    const parsed = parseSweepTable(raw);
    if (!parsed || !isRecord(raw)) throw new Error('not a sweep table');
    let changed = false;
    const rows: SweepRow[] = [];
    for (const row of parsed.rows) {
      if (!UNFINISHED_ROW.has(row.status)) {
        rows.push(row);
        continue;
      }
      changed = true;
      const run = row.runId ? this.#queue.get(row.runId) : undefined;
      if (!run || run.status === 'queued' || run.status === 'running') {
        rows.push({ ...row, status: 'interrupted', error: 'the server stopped before this run ended' });
        continue;
      }
      const last = run.status === 'done' ? await lastEvent(join(this.#queue.runsDir, run.id, RECORD_FILES.events)) : undefined;
      const error = errorLine(run.errors);
      rows.push({
        ...row, status: run.status,
        ...(run.durationMs !== undefined ? { durationMs: run.durationMs } : {}),
        ...(last?.type === 'run:done' ? { outputs: scalarOutputs(last.results) } : {}),
        ...(run.status !== 'done' && error ? { error } : {}),
      });
    }
    const table = { ...(raw as unknown as SweepTable), ...(changed ? { ...tableSummary(rows), rows, updatedAt: new Date().toISOString() } : {}) };
    if (changed) await writeSweepTable(dir, table);
    return table;
  }
}

/**
 * The summary of a sweep's table. `live`: the server is still running it (its last table may not
 * be written yet), so it is `running` even once every row has ended.
 */
export function summaryOf(id: string, t: SweepTable, live = false): SweepSummary {
  const running = live || t.rows.some((r) => UNFINISHED_ROW.has(r.status));
  return {
    id, graph: t.graph, ...(t.graphName ? { graphName: t.graphName } : {}), ...(t.label ? { label: t.label } : {}),
    state: running ? 'running' : 'ended', ...(t.cancelled ? { cancelled: true } : {}),
    params: t.grid.map((a) => `${a.node}.${a.param}`), seeds: t.seeds, total: t.rows.length, counts: t.counts,
    ...(t.provider ? { provider: t.provider } : {}), ...(t.resumedFrom ? { resumedFrom: t.resumedFrom } : {}),
    ...(t.createdAt ? { createdAt: t.createdAt } : {}), updatedAt: t.updatedAt,
  };
}
