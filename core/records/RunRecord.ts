import { isProviderChoice } from '../graph/providers.ts';
import type { NodeErrorInfo, RunInfo, RunStatus } from '../wire/runs.ts';

/** `format` of a run.json written by this version (schemas/run-record.schema.json). */
export const RUN_RECORD_FORMAT = 'tessera-run';
export const RUN_RECORD_VERSION = 1;

/** The statuses a run.json may hold; `queued` and `running` are not final. */
export const RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted'];

/**
 * A run's run.json, the same for `tessera run` and `tessera serve` (schemas/run-record.schema.json).
 * Written when the run is claimed (queued or running) and again when it ends; a record still
 * queued or running whose events.jsonl has no terminal event is an interrupted run.
 */
export interface RunRecord extends Pick<RunInfo, 'status' | 'label' | 'graphName' | 'seed' | 'provider' | 'createdAt' | 'startedAt' | 'finishedAt' | 'durationMs' | 'errors'> {
  readonly format: typeof RUN_RECORD_FORMAT;
  readonly version: typeof RUN_RECORD_VERSION;
  /** The `runId` of the run's events. */
  readonly runId: string;
  /** Who wrote the record: the CLI (`tessera run`) or the server (`tessera serve`). */
  readonly writer: 'cli' | 'server';
  /** The writing process while the run goes on (tells a killed CLI run from one still running). */
  readonly pid?: number;
  /** The graph file the CLI ran. */
  readonly file?: string;
  /** Events in events.jsonl when the record was written. */
  readonly eventCount: number;
  /** The run:done results (wire form). */
  readonly results?: Record<string, unknown>;
  /** Why the record itself is incomplete (events.jsonl could not be written). */
  readonly error?: string;
}

/** The terminal events and the status each ends a run with. */
export const TERMINAL_STATUS: ReadonlyMap<string, RunStatus> = new Map<string, RunStatus>([
  ['run:done', 'done'],
  ['run:failed', 'failed'],
  ['run:cancelled', 'cancelled'],
]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const isStatus = (v: unknown): v is RunStatus => typeof v === 'string' && (RUN_STATUSES as readonly string[]).includes(v);

/** Error entries as the record keeps them: well-typed fields only, no stack. */
function errorsOf(v: unknown): NodeErrorInfo[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: NodeErrorInfo[] = [];
  for (const e of v) {
    if (!isObject(e)) continue;
    const inputs = isObject(e.inputs) ? e.inputs : undefined;
    out.push({ nodeId: str(e.nodeId) ?? '', nodeType: str(e.nodeType) ?? '', name: str(e.name) ?? 'Error', message: str(e.message) ?? '', ...(inputs ? { inputs: inputs as Record<string, string> } : {}) });
  }
  return out.length ? out : undefined;
}

/**
 * A run.json's content as a {@link RunRecord}, whichever version wrote it, or undefined when it
 * is not a run record. Besides the current shape it reads the two older ones: the server's
 * summary (`{id, status: "done", createdAt, eventCount, …}`) and the CLI's (`{file, status:
 * "run:done" | "running", runId, pid, startedAt, results | errors}`). `mtime` (the file's) stands
 * in for dates an old CLI record lacks.
 */
export function parseRunRecord(raw: unknown, mtime: Date): RunRecord | undefined {
  if (!isObject(raw)) return undefined;
  const optional = {
    ...(num(raw.pid) !== undefined ? { pid: num(raw.pid) } : {}),
    ...(str(raw.file) !== undefined ? { file: str(raw.file) } : {}),
    ...(str(raw.label) !== undefined ? { label: str(raw.label) } : {}),
    ...(str(raw.graphName) !== undefined ? { graphName: str(raw.graphName) } : {}),
    ...(num(raw.seed) !== undefined ? { seed: num(raw.seed) } : {}),
    ...(isProviderChoice(raw.provider) ? { provider: raw.provider } : {}),
    ...(str(raw.startedAt) !== undefined ? { startedAt: str(raw.startedAt) } : {}),
    ...(str(raw.finishedAt) !== undefined ? { finishedAt: str(raw.finishedAt) } : {}),
    ...(num(raw.durationMs) !== undefined ? { durationMs: num(raw.durationMs) } : {}),
    ...(errorsOf(raw.errors) ? { errors: errorsOf(raw.errors) } : {}),
    ...(isObject(raw.results) ? { results: raw.results } : {}),
    ...(str(raw.error) !== undefined ? { error: str(raw.error) } : {}),
  };
  const base = { format: RUN_RECORD_FORMAT, version: RUN_RECORD_VERSION } as const;
  if (raw.format === RUN_RECORD_FORMAT) {
    const runId = str(raw.runId);
    const createdAt = str(raw.createdAt);
    if (runId === undefined || !isStatus(raw.status) || createdAt === undefined || (raw.writer !== 'cli' && raw.writer !== 'server')) return undefined;
    return { ...base, runId, status: raw.status, writer: raw.writer, createdAt, eventCount: num(raw.eventCount) ?? 0, ...optional };
  }
  // The server's summary before the shared schema.
  if (str(raw.id) !== undefined && isStatus(raw.status) && str(raw.createdAt) !== undefined) {
    return { ...base, runId: str(raw.runId) ?? str(raw.id)!, status: raw.status, writer: 'server', createdAt: str(raw.createdAt)!, eventCount: num(raw.eventCount) ?? 0, ...optional };
  }
  // The CLI's record before the shared schema: "running" while it ran, then the last event's type.
  const status = raw.status === 'running' ? 'running' : TERMINAL_STATUS.get(String(raw.status));
  if (!status) return undefined;
  const when = mtime.toISOString();
  return {
    ...base,
    runId: str(raw.runId) ?? '',
    status,
    writer: 'cli',
    createdAt: str(raw.startedAt) ?? when,
    eventCount: 0,
    ...(status !== 'running' ? { finishedAt: when } : {}),
    ...optional,
  };
}
