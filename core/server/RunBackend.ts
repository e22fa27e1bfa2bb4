import type { Observable } from 'rxjs';
import type { Engine } from '../engine/Engine.ts';
import type { ExecutionEvent } from '../engine/events.ts';
import type { GraphDocument } from '../graph/GraphDocument.ts';

/** What a backend is asked to execute: one validated run of the {@link RunQueue}. */
export interface RunExecution {
  readonly runId: string;
  readonly graph: GraphDocument;
  /** The run's directory (its record is already there). */
  readonly outDir: string;
  readonly signal: AbortSignal;
  /** Resolves when the consumer of the events has caught up (the events.jsonl writer). */
  readonly backpressure: () => PromiseLike<void> | undefined;
  readonly seed?: number;
  readonly targets?: readonly string[];
  readonly useCache?: boolean;
}

/**
 * Where the {@link RunQueue}'s runs execute: in this process (the default) or elsewhere (the
 * BullMQ backend of core/queue). The queue stays the scheduler and the record keeper; a backend
 * only turns a run into its event stream, ending with run:done, run:failed or run:cancelled.
 */
export interface RunBackend {
  /** Runs the queue may hand over at once; undefined: the queue's own `concurrency`. */
  readonly capacity?: number;
  /** Runs execute in other processes: this process's memory says nothing about them. */
  readonly remote?: boolean;
  execute(run: RunExecution): Observable<ExecutionEvent>;
  /** Releases connections (after the queue has ended its runs). */
  close(): Promise<void>;
}

/** The default backend: the engine of this process runs the graph. */
export function inProcessBackend(engine: Engine): RunBackend {
  return {
    execute: ({ graph, runId, outDir, signal, backpressure, seed, targets, useCache }) =>
      engine.run(graph, { runId, outDir, signal, backpressure, ...(seed !== undefined ? { seed } : {}), ...(targets?.length ? { targets } : {}), ...(useCache !== undefined ? { useCache } : {}) }),
    close: async () => {},
  };
}
