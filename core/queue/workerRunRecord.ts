import { RUN_RECORD_FORMAT, RUN_RECORD_VERSION, TERMINAL_STATUS, type RunRecord } from '../records/RunRecord.ts';
import type { NodeErrorInfo } from '../wire/runs.ts';
import type { RunJob } from './RunJob.ts';

/** What a worker knows of a run so far, for its run.json. */
export interface WorkerRunState {
  /** The attempt (one execution of the job on one worker) and the worker that wrote the record. */
  readonly attempt: string;
  readonly worker: string;
  readonly createdAt: Date;
  readonly startedAt: Date;
  readonly eventCount: number;
  /** The terminal event (wire form), once the run ended. */
  readonly terminal?: Record<string, unknown>;
  readonly finishedAt?: Date;
  /** Why the record is incomplete where the server reads it (an upload that failed). */
  readonly error?: string;
}

/** A worker's run.json: the server's record, plus which attempt of the job wrote it (a takeover writes another). */
export type WorkerRunRecord = RunRecord & { readonly attempt: string; readonly worker: string };

/**
 * The run.json a worker writes into a run directory it uploads (`--artifacts`): the record the
 * server writes, from the job and the run's own events, so a run read from the store is listed
 * like any other. (`writer` says 'server': the shared schema knows the CLI and the server; the
 * worker records the run the way the server does.)
 */
export function workerRunRecord(job: RunJob, s: WorkerRunState): WorkerRunRecord {
  const t = s.terminal;
  const status = (t && TERMINAL_STATUS.get(String(t.type))) ?? 'running';
  const seed = job.seed ?? job.graph.seed;
  const provider = job.provider ?? job.graph.provider;
  const errors = t?.type === 'run:failed' && Array.isArray(t.errors) ? (t.errors as NodeErrorInfo[]).map(({ stack: _stack, ...rest }) => rest) : undefined;
  return {
    format: RUN_RECORD_FORMAT, version: RUN_RECORD_VERSION, runId: job.runId, writer: 'server', status,
    ...(job.graph.name ? { graphName: job.graph.name } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(provider !== undefined ? { provider } : {}),
    createdAt: s.createdAt.toISOString(), startedAt: s.startedAt.toISOString(),
    ...(s.finishedAt ? { finishedAt: s.finishedAt.toISOString() } : {}),
    ...(typeof t?.durationMs === 'number' ? { durationMs: t.durationMs } : {}),
    eventCount: s.eventCount,
    ...(errors?.length ? { errors } : {}),
    ...(t?.type === 'run:done' && t.results && typeof t.results === 'object' ? { results: t.results as Record<string, unknown> } : {}),
    ...(s.error !== undefined ? { error: s.error } : {}),
    attempt: s.attempt, worker: s.worker,
  };
}
