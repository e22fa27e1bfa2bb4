import { TERMINAL_STATUS } from '../records/RunRecord.ts';
import { isRecord } from '../util/own.ts';
import type { NodeErrorInfo, RunStatus } from '../wire/runs.ts';
import { POLL_MS, REQUEST_MS, serverApi } from './serverApi.ts';
import type { SweepRunEnd, SweepTarget } from './SweepTarget.ts';

/** Cells submitted and polled at once by default: each polls every POLL_MS, and the server queues runs itself. */
export const SERVER_IN_FLIGHT = 4;

export interface ServerTargetOptions {
  /** Cells in flight at once (default {@link SERVER_IN_FLIGHT}). */
  inFlight?: number;
  /** How long one request may take (default 30 s). */
  requestMs?: number;
}

/**
 * A sweep target that is a running `tessera serve` (with or without --queue): runs are POSTed to
 * /api/runs and polled until they end; their results are read from the run's last event. The
 * server keeps its runs, so a resumed sweep waits again for runs an earlier sweep submitted.
 */
export function serverTarget(base: string, token: string | undefined, options: ServerTargetOptions = {}): SweepTarget {
  const { root, call, patient } = serverApi(base, token, options.requestMs ?? REQUEST_MS);
  return {
    where: root,
    reattach: true,
    inFlight: options.inFlight ?? SERVER_IN_FLIGHT,
    submit: async ({ graph, seed, label, provider }) => {
      const json = await call('POST', 'api/runs', { graph, seed, label, ...(provider ? { provider } : {}) });
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
