import type { GraphDocument } from '../graph/GraphDocument.ts';
import type { ProviderChoice } from '../graph/providers.ts';
import { isRecord } from '../util/own.ts';
import { UNFINISHED_ROW } from '../wire/sweeps.ts';
import type { GridAxis } from './parseGrid.ts';
import { writeSweepTable } from './runSweep.ts';
import { HttpError, POLL_MS, serverApi } from './serverApi.ts';
import type { SweepRow, SweepTable } from './SweepTable.ts';

/** What `tessera sweep --server` hands the server: one sweep object (POST /api/sweeps). */
export interface ServerSweepPlan {
  readonly server: string;
  readonly token?: string;
  readonly graph: GraphDocument;
  /** The graph file and its hash as the CLI loaded it: the local table's, for its own resume check. */
  readonly graphFile: string;
  readonly graphHash: string;
  readonly axes: readonly GridAxis[];
  readonly seeds: readonly number[];
  readonly provider?: ProviderChoice;
  /** The local sweep folder: sweep.json and sweep.md mirror the server's table there. */
  readonly outDir: string;
  /** The server sweep an earlier run of this command followed (from the local table). */
  readonly previous?: { readonly url: string; readonly sweepId: string };
  /** How long one request may take (default 30 s). */
  readonly requestMs?: number;
}

/** The server refused the sweep itself (400): its problems, with pointers into the request. */
export class SweepRefused extends Error {
  constructor(message: string, readonly issues: readonly { pointer: string; message: string }[]) {
    super(message);
  }
}

/**
 * Submits a sweep to a server as one object and follows it to its end, mirroring its table into
 * the local sweep folder (atomic writes) as its counts change. A folder whose table follows a
 * server sweep resumes it: one still running is followed again; one that ended with runs not done
 * is resumed on the server (`resume`: its done rows are kept, the rest run); one the server no
 * longer has is started anew. Resolves with the final local table; rejects with a SweepRefused
 * when the server finds the sweep invalid, an HttpError or fetch error when it cannot be submitted.
 */
export async function followServerSweep(plan: ServerSweepPlan, note: (line: string) => void, warn: (line: string) => void): Promise<SweepTable> {
  const api = serverApi(plan.server, plan.token, plan.requestMs);
  const submit = async (resume?: string): Promise<string> => {
    const body = {
      graph: plan.graph, label: plan.graphFile,
      grid: plan.axes.map((a) => ({ node: a.nodeId, param: a.path.join('.'), values: a.values })),
      seeds: plan.seeds, ...(plan.provider ? { provider: plan.provider } : {}), ...(resume ? { resume } : {}),
    };
    try {
      const json = await api.call('POST', 'api/sweeps', body);
      const id = isRecord(json.sweep) ? json.sweep.id : undefined;
      if (typeof id !== 'string') throw new Error('POST api/sweeps: the answer names no sweep id');
      note(`sweep ${id} submitted to ${api.root}${resume ? ` (resuming ${resume}: its done runs are kept)` : ''}`);
      return id;
    } catch (error) {
      if (error instanceof HttpError && error.status === 400) throw new SweepRefused(error.message, error.issues);
      throw error;
    }
  };
  const get = async (id: string) => {
    const json = await api.patient('GET', `api/sweeps/${encodeURIComponent(id)}`);
    if (!isRecord(json.table) || !Array.isArray(json.table.rows)) throw new Error(`GET api/sweeps/${id}: the answer holds no table`);
    return json.table as unknown as SweepTable;
  };

  let id: string | undefined;
  if (plan.previous && plan.previous.url === api.root) {
    try {
      const earlier = await get(plan.previous.sweepId);
      const unfinished = earlier.rows.some((r) => UNFINISHED_ROW.has(r.status));
      if (unfinished) {
        id = plan.previous.sweepId;
        note(`following sweep ${id} on ${api.root} again (it is still running)`);
      } else if (earlier.rows.every((r) => r.status === 'done') && earlier.rows.length > 0 && sameCells(earlier, plan)) id = plan.previous.sweepId;
      else id = await submit(plan.previous.sweepId);
    } catch (error) {
      if (!(error instanceof HttpError && error.status === 404)) throw error;
      note(`${api.root} no longer has sweep ${plan.previous.sweepId}; starting a new one`);
    }
  }
  id ??= await submit();

  // The server's runs folder means nothing here: the runs are the server's.
  const local = ({ runsDir: _runsDir, ...t }: SweepTable): SweepTable => ({
    ...t, graph: plan.graphFile, graphHash: plan.graphHash, where: api.root, server: { url: api.root, sweepId: id! },
  });
  const write = (t: SweepTable) => writeSweepTable(plan.outDir, t);
  const told = new Map<number, string>();
  let last = '';
  for (;;) {
    const table = local(await get(id));
    for (const r of table.rows) {
      if (UNFINISHED_ROW.has(r.status) || told.get(r.index) === r.status) continue;
      told.set(r.index, r.status);
      note(`run ${r.index + 1}/${table.rows.length} ${r.status}${r.runId ? ` (${r.runId})` : ''}: ${rowLabel(r)}${r.status !== 'done' && r.error ? ` — ${r.error}` : ''}`);
    }
    const ended = !table.rows.some((r) => UNFINISHED_ROW.has(r.status));
    if (ended) {
      await write(table); // the last write: its failure is the command's
      return table;
    }
    const stamp = JSON.stringify([table.updatedAt, table.counts]);
    if (stamp !== last) {
      last = stamp;
      await write(table).catch((error: unknown) => warn(`the sweep table was not updated: ${(error as Error).message}`));
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Whether an earlier server sweep covers exactly the grid and seeds asked for now. */
function sameCells(t: SweepTable, plan: ServerSweepPlan): boolean {
  const grid = plan.axes.map((a) => ({ node: a.nodeId, param: a.path.join('.'), values: a.values }));
  return JSON.stringify(t.grid) === JSON.stringify(grid) && JSON.stringify(t.seeds) === JSON.stringify(plan.seeds);
}

function rowLabel(r: SweepRow): string {
  return [...r.params.map((p) => `${p.node}.${p.param}=${JSON.stringify(p.value)}`), `seed=${r.seed}`].join(' ');
}
