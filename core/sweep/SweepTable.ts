import type { ProviderChoice } from '../graph/providers.ts';
import type { NodeErrorInfo, RunStatus } from '../wire/runs.ts';
import { isRecord } from '../util/own.ts';
import type { CellParam } from './sweepCells.ts';

export const SWEEP_FORMAT = 'tessera-sweep';
export const SWEEP_VERSION = 1;

/** A scalar a table cell can show. */
export type Scalar = number | string | boolean | null;

/** One run of the sweep as the table records it. */
export interface SweepRow {
  readonly index: number;
  readonly key: string;
  readonly params: readonly CellParam[];
  readonly seed: number;
  /** Absent until the run was accepted by the queue or server. */
  readonly runId?: string;
  readonly status: RunStatus | 'pending';
  readonly durationMs?: number;
  /** The run's scalar results, `node.port[.key…]` → value (a null-prototype object: names are user text). */
  readonly outputs?: Record<string, Scalar>;
  /** The first error of a run that did not end done. */
  readonly error?: string;
}

/** What a server's sweep (POST /api/sweeps) records besides the CLI's table. */
export interface SweepMeta {
  /** The sweep's id on its server (names its folder, `<runs>/sweeps/<id>/`). */
  readonly id?: string;
  readonly label?: string;
  /** The provider each run was asked for (absent: each run's graph decides). */
  readonly provider?: ProviderChoice;
  readonly createdAt?: string;
  /** `running` while the server works on it, then `ended` (a sweep found unfinished after a restart is `ended` too). */
  readonly state?: 'running' | 'ended';
  /** Cancelled through the API: its unfinished runs were cancelled. */
  readonly cancelled?: boolean;
  /** The earlier sweep of the same graph whose done rows this one kept. */
  readonly resumedFrom?: string;
  /** On a `tessera sweep --server` table: the server's sweep it follows. */
  readonly server?: { readonly url: string; readonly sweepId: string };
}

/** The aggregate table (sweep.json): also the sweep's state, read back to resume it. */
export interface SweepTable extends SweepMeta {
  readonly format: typeof SWEEP_FORMAT;
  readonly version: typeof SWEEP_VERSION;
  /** The graph file, and the hash of the graph as loaded (a resume needs the same graph). */
  readonly graph: string;
  readonly graphHash: string;
  readonly graphName?: string;
  /** Where the runs went: `in-process`, `redis host:port` or the server's URL. */
  readonly where: string;
  /** Folder of the run directories (in-process and Redis); absent for a server's runs. */
  readonly runsDir?: string;
  readonly grid: readonly { node: string; param: string; values: readonly unknown[] }[];
  readonly seeds: readonly number[];
  readonly updatedAt: string;
  readonly counts: Readonly<Record<string, number>>;
  /** Every output name any run has, sorted: the table's output columns. */
  readonly columns: readonly string[];
  readonly rows: readonly SweepRow[];
}

/** Deepest level of a result object whose scalar leaves become columns. */
const MAX_DEPTH = 3;
/** Longest string kept as a table value (longer ones are text, not a metric). */
const MAX_STRING = 200;

/**
 * The scalar leaves of a run's results (wire form: node → port → value), named
 * `node.port[.key…]`: numbers, booleans, short strings, nested in plain objects up to a few
 * levels. Arrays, images, tensors and summaries are not table values and are left out.
 */
export function scalarOutputs(results: unknown): Record<string, Scalar> {
  const out: Record<string, Scalar> = Object.create(null);
  const walk = (value: unknown, name: string, depth: number) => {
    if (typeof value === 'number' || typeof value === 'boolean' || value === null) out[name] = value;
    else if (typeof value === 'string') {
      if (value.length <= MAX_STRING) out[name] = value;
    } else if (isRecord(value) && depth < MAX_DEPTH && !Object.hasOwn(value, '$summary')) {
      for (const [k, v] of Object.entries(value)) walk(v, `${name}.${k}`, depth + 1);
    }
  };
  if (isRecord(results)) for (const [node, ports] of Object.entries(results)) if (isRecord(ports)) for (const [port, v] of Object.entries(ports)) walk(v, `${node}.${port}`, 0);
  return out;
}

/** The first error of a failed run, in one line. */
export function errorLine(errors: readonly NodeErrorInfo[] | undefined): string | undefined {
  const e = errors?.[0];
  if (!e) return undefined;
  return `${e.nodeId ? `${e.nodeId}: ` : ''}${e.name}: ${e.message}`.replace(/\s+/g, ' ').slice(0, 500);
}

/** Output columns and status counts of `rows`. */
export function tableSummary(rows: readonly SweepRow[]): { columns: string[]; counts: Record<string, number> } {
  const columns = new Set<string>();
  const counts: Record<string, number> = Object.create(null);
  for (const r of rows) {
    counts[r.status] = (counts[r.status] ?? 0) + 1;
    if (r.outputs) for (const k of Object.keys(r.outputs)) columns.add(k);
  }
  return { columns: [...columns].sort(), counts };
}

/** A table value as Markdown cell text: one line, pipes escaped, bounded. */
function cell(value: unknown): string {
  const text = value === undefined ? '' : typeof value === 'string' ? value : typeof value === 'number' ? formatNumber(value) : JSON.stringify(value);
  const one = text.replace(/\s+/g, ' ').replace(/\\/g, '\\\\').replace(/\|/g, '\\|');
  return one.length > 120 ? one.slice(0, 119) + '…' : one;
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(6)));
}

/** The table as Markdown: one row per run, the grid params, seed, status, run, time and every output column. */
export function sweepMarkdown(table: SweepTable): string {
  const axes = table.grid.map((a) => `${a.node}.${a.param}`);
  const head = ['#', ...axes, 'seed', 'status', 'run', 's', ...table.columns, 'error'];
  const lines = [
    `# Sweep of ${cell(table.graphName ?? table.graph)}`,
    '',
    `${table.rows.length} runs (${Object.entries(table.counts).map(([s, n]) => `${n} ${s}`).join(', ')}) · ${cell(table.where)} · updated ${table.updatedAt}`,
    '',
    `| ${head.map(cell).join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
  ];
  for (const r of table.rows) {
    const values = table.grid.map((a) => r.params.find((p) => p.node === a.node && p.param === a.param)?.value);
    const outputs = table.columns.map((c) => (r.outputs && Object.hasOwn(r.outputs, c) ? r.outputs[c] : undefined));
    const row = [r.index, ...values, r.seed, r.status, r.runId ?? '', r.durationMs === undefined ? '' : (r.durationMs / 1000).toFixed(2), ...outputs, r.error ?? ''];
    lines.push(`| ${row.map(cell).join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Reads a sweep.json written earlier, for a resume: the rows that can be trusted (well-typed),
 * or undefined when the file is not a sweep table. Outputs are copied into null-prototype objects.
 */
export function parseSweepTable(raw: unknown): (SweepMeta & { graphHash: string; rows: SweepRow[]; table: Record<string, unknown> }) | undefined {
  if (!isRecord(raw) || raw.format !== SWEEP_FORMAT || raw.version !== SWEEP_VERSION || typeof raw.graphHash !== 'string' || !Array.isArray(raw.rows)) return undefined;
  const rows: SweepRow[] = [];
  for (const r of raw.rows) {
    if (!isRecord(r) || typeof r.key !== 'string' || typeof r.status !== 'string' || typeof r.index !== 'number' || typeof r.seed !== 'number' || !Array.isArray(r.params)) continue;
    const outputs: Record<string, Scalar> = Object.create(null);
    if (isRecord(r.outputs)) for (const [k, v] of Object.entries(r.outputs)) if (v === null || ['number', 'string', 'boolean'].includes(typeof v)) outputs[k] = v as Scalar;
    rows.push({
      index: r.index, key: r.key, seed: r.seed, status: r.status as SweepRow['status'],
      params: r.params.filter(isRecord).map((p) => ({ node: String(p.node), param: String(p.param), value: p.value })),
      ...(typeof r.runId === 'string' ? { runId: r.runId } : {}),
      ...(typeof r.durationMs === 'number' ? { durationMs: r.durationMs } : {}),
      ...(typeof r.error === 'string' ? { error: r.error } : {}),
      outputs,
    });
  }
  const server = isRecord(raw.server) && typeof raw.server.url === 'string' && typeof raw.server.sweepId === 'string' ? { url: raw.server.url, sweepId: raw.server.sweepId } : undefined;
  return {
    graphHash: raw.graphHash, rows, table: raw,
    ...(typeof raw.id === 'string' ? { id: raw.id } : {}),
    ...(typeof raw.label === 'string' ? { label: raw.label } : {}),
    ...(typeof raw.createdAt === 'string' ? { createdAt: raw.createdAt } : {}),
    ...(raw.cancelled === true ? { cancelled: true } : {}),
    ...(server ? { server } : {}),
  };
}
