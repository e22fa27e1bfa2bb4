import { TERMINAL_STATUS } from '../records/RunRecord.ts';
import { isRecord } from '../util/own.ts';
import type { NodeErrorInfo, RunStatus } from '../wire/runs.ts';
import type { SweepRunEnd, SweepTarget } from './SweepTarget.ts';

/** How often a waiting sweep asks the server about a run. */
const POLL_MS = 500;
/** Requests that fail (the server restarting, a network blip) are retried this long before the sweep gives up on the run. */
const UNREACHABLE_MS = 120_000;
/** A request the server has not answered by then is given up (a poll is retried; a submit fails its cell). */
const REQUEST_MS = 30_000;
/** Cells submitted and polled at once by default: each polls every POLL_MS, and the server queues runs itself. */
export const SERVER_IN_FLIGHT = 4;

export interface ServerTargetOptions {
  /** Cells in flight at once (default {@link SERVER_IN_FLIGHT}). */
  inFlight?: number;
  /** How long one request may take (default 30 s). */
  requestMs?: number;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * A sweep target that is a running `tessera serve` (with or without --queue): runs are POSTed to
 * /api/runs and polled until they end; their results are read from the run's last event. The
 * server keeps its runs, so a resumed sweep waits again for runs an earlier sweep submitted.
 */
export function serverTarget(base: string, token: string | undefined, options: ServerTargetOptions = {}): SweepTarget {
  const root = base.endsWith('/') ? base : base + '/';
  const requestMs = options.requestMs ?? REQUEST_MS;
  const call = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    // The timeout covers the body too: a server that hangs mid-answer fails this request only.
    const res = await fetch(new URL(path, root), {
      method,
      signal: AbortSignal.timeout(requestMs),
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json().catch(() => undefined)) as unknown;
    if (!res.ok) {
      const error = isRecord(json) && isRecord(json.error) ? json.error : undefined;
      const issues = error && Array.isArray(error.issues) ? `: ${error.issues.map((i) => (isRecord(i) ? `${String(i.pointer)} ${String(i.message)}` : '')).join('; ')}` : '';
      throw new HttpError(res.status, `${method} ${path}: ${res.status} ${error && typeof error.message === 'string' ? error.message : res.statusText}${issues}`);
    }
    if (!isRecord(json)) throw new HttpError(res.status, `${method} ${path}: the answer is not a JSON object`);
    return json;
  };
  /** Retries a request the server did not answer (connection refused, 5xx) for a while. */
  const patient = async (method: string, path: string): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + UNREACHABLE_MS;
    for (;;) {
      try {
        return await call(method, path);
      } catch (error) {
        const retry = !(error instanceof HttpError) || error.status >= 500;
        if (!retry || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, POLL_MS * 4));
      }
    }
  };
  return {
    where: root,
    reattach: true,
    inFlight: options.inFlight ?? SERVER_IN_FLIGHT,
    submit: async ({ graph, seed, label }) => {
      const json = await call('POST', 'api/runs', { graph, seed, label });
      const id = isRecord(json.run) ? json.run.id : undefined;
      if (typeof id !== 'string') throw new Error('POST api/runs: the answer names no run id');
      return id;
    },
    wait: async (runId) => {
      const path = `api/runs/${encodeURIComponent(runId)}`;
      for (;;) {
        const run = await patient('GET', path);
        const status = run.status as RunStatus;
        if (typeof status === 'string' && status !== 'queued' && status !== 'running') {
          const count = typeof run.eventCount === 'number' ? run.eventCount : 0;
          const page = await patient('GET', `${path}/events?since=${Math.max(0, count - 1)}`);
          const events = Array.isArray(page.events) ? page.events : [];
          const last = events.filter(isRecord).find((e) => TERMINAL_STATUS.has(String(e.type)));
          return {
            status,
            ...(typeof run.durationMs === 'number' ? { durationMs: run.durationMs } : {}),
            ...(last?.type === 'run:done' && isRecord(last.results) ? { results: last.results } : {}),
            ...(Array.isArray(run.errors) ? { errors: run.errors as NodeErrorInfo[] } : {}),
          } satisfies SweepRunEnd;
        }
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    },
    close: async () => {},
  };
}
