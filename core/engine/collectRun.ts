import { lastValueFrom, toArray, type Observable } from 'rxjs';
import type { ExecutionEvent, NodeErrorInfo } from './events.ts';
import type { ValidationIssue } from '../graph/ValidationIssue.ts';

/** A finished run, gathered from its events. */
export interface RunSummary {
  readonly status: 'done' | 'failed' | 'cancelled';
  readonly events: readonly ExecutionEvent[];
  /** Outputs of the target nodes (run:done only). */
  readonly results: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly errors: readonly NodeErrorInfo[];
  readonly issues: readonly ValidationIssue[];
  /** Nodes that executed (not cached, not skipped), in start order. */
  readonly executed: readonly string[];
  readonly cached: readonly string[];
}

/**
 * Runs an event stream to its end and summarises it — handy in tests and scripts.
 *
 * @example
 * const { status, results } = await collectRun(engine.run(graph));
 */
export async function collectRun(events$: Observable<ExecutionEvent>): Promise<RunSummary> {
  const events = await lastValueFrom(events$.pipe(toArray()));
  const last = events[events.length - 1];
  const status = last?.type === 'run:done' ? 'done' : last?.type === 'run:cancelled' ? 'cancelled' : 'failed';
  return {
    status,
    events,
    results: last?.type === 'run:done' ? last.results : {},
    errors: last?.type === 'run:failed' ? last.errors : [],
    issues: last?.type === 'run:failed' ? (last.issues ?? []) : [],
    executed: events.filter((e) => e.type === 'node:start').map((e) => (e as { nodeId: string }).nodeId),
    cached: events.filter((e) => e.type === 'node:cached').map((e) => (e as { nodeId: string }).nodeId),
  };
}
