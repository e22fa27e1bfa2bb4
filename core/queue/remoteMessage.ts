import { isRecord } from '../util/own.ts';
import { RUN_ID_PATTERN } from '../server/runId.ts';

/** What a worker publishes on the events channel: one event of a run, in its wire form. */
export interface RemoteEvent {
  readonly runId: string;
  /** One execution of the job on one worker: a stalled job taken over by another has a new one. */
  readonly attempt: string;
  readonly worker: string;
  readonly event: Record<string, unknown> & { readonly type: string };
}

/** What a worker publishes when it leaves a job for another worker. */
export interface RemoteRefusal {
  readonly runId: string;
  readonly worker: string;
  readonly refused: string;
}

export type RemoteMessage = RemoteEvent | RemoteRefusal;

/** What a worker returns for a job it ran: the run's last event too, kept by Redis with the job. */
export interface RunJobResult {
  readonly status: string;
  readonly terminal?: RemoteEvent;
}

/**
 * The terminal event a completed job's result holds, shape-checked as a message of the events
 * channel (the result is data from Redis, like any message), or undefined.
 */
export function terminalOfResult(result: unknown, runId: string): RemoteEvent | undefined {
  const terminal = isRecord(result) ? result.terminal : undefined;
  const m = terminal === undefined ? undefined : parseRemoteMessage(JSON.stringify(terminal));
  if (!m || 'refused' in m || m.runId !== runId || !TERMINAL_TYPES.has(m.event.type)) return undefined;
  return m;
}

const TERMINAL_TYPES = new Set(['run:done', 'run:failed', 'run:cancelled']);

const EVENT_TYPES = new Set(['run:start', 'node:queued', 'node:start', 'node:progress', 'node:log', 'node:output', 'node:cached', 'node:done', 'node:error', 'node:skipped', 'run:done', 'run:failed', 'run:cancelled']);

/**
 * Reads one message of the events channel; anything else on it (a foreign publisher, a
 * truncated message) is undefined, and ignored by the caller.
 */
export function parseRemoteMessage(text: string): RemoteMessage | undefined {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(m) || typeof m.runId !== 'string' || !RUN_ID_PATTERN.test(m.runId) || typeof m.worker !== 'string') return undefined;
  if (typeof m.refused === 'string') return { runId: m.runId, worker: m.worker, refused: m.refused };
  const event = m.event;
  if (typeof m.attempt !== 'string' || !isRecord(event) || typeof event.type !== 'string' || !EVENT_TYPES.has(event.type)) return undefined;
  if (!eventShapeOk(event)) return undefined;
  return { runId: m.runId, attempt: m.attempt, worker: m.worker, event: event as RemoteEvent['event'] };
}

/**
 * The fields the server reads of each event type have the right types. Foreign or broken
 * publishers are ignored here: a missing field read later would throw inside the run's
 * subscriber, which RxJS re-throws as an uncaught exception (ending the server).
 */
function eventShapeOk(e: Record<string, unknown>): boolean {
  const str = (v: unknown) => typeof v === 'string';
  const num = (v: unknown) => typeof v === 'number';
  if (String(e.type).startsWith('node:') && (!str(e.nodeId) || !str(e.nodeType))) return false;
  switch (e.type) {
    case 'run:start':
      return num(e.seed) && Array.isArray(e.nodes) && e.nodes.every(str);
    case 'node:progress':
      return num(e.value) && (e.max === undefined || num(e.max)) && (e.message === undefined || str(e.message));
    case 'node:log':
      return str(e.level) && str(e.message);
    case 'node:output':
      return isRecord(e.outputs) && (e.index === undefined || num(e.index));
    case 'node:done':
      return num(e.durationMs) && typeof e.cached === 'boolean';
    case 'node:error':
      return isRecord(e.error) && str(e.error.message) && str(e.error.name);
    case 'node:skipped':
      return str(e.reason);
    case 'run:done':
      return num(e.durationMs) && isRecord(e.results);
    case 'run:failed':
      return num(e.durationMs) && Array.isArray(e.errors) && e.errors.every((x) => isRecord(x) && str(x.message) && str(x.nodeId));
    case 'run:cancelled':
      return num(e.durationMs);
    default:
      return true;
  }
}
