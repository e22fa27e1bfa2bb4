import type { RemoteEvent } from './remoteMessage.ts';

/**
 * `terminal` (the run's last event, as published) turned into a `run:failed` of the same run,
 * position and time, with one error `name: message`: the run's files could not be stored, or the
 * worker lost the run before its end was stored.
 */
export function failedTerminal(terminal: RemoteEvent, name: string, message: string): RemoteEvent {
  const e = terminal.event as unknown as { runId: string; seq: number; t: number; durationMs?: number };
  const event = { type: 'run:failed', runId: e.runId, seq: e.seq, t: e.t, durationMs: e.durationMs ?? 0, errors: [{ nodeId: '', nodeType: '', name, message }] };
  return { ...terminal, event: event as unknown as RemoteEvent['event'] };
}
