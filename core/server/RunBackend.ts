import type { Observable } from 'rxjs';
import type { Engine } from '../engine/Engine.ts';
import type { ExecutionEvent } from '../engine/events.ts';
import type { GraphDocument } from '../graph/GraphDocument.ts';
import type { ProviderChoice } from '../graph/providers.ts';

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
  readonly provider?: ProviderChoice;
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

/** The run choices a request may carry, as options (absent ones left out, so defaults apply). */
export function runChoices(x: { readonly seed?: number; readonly provider?: ProviderChoice; readonly targets?: readonly string[]; readonly useCache?: boolean }): { seed?: number; provider?: ProviderChoice; targets?: string[]; useCache?: boolean } {
  return { ...(x.seed !== undefined ? { seed: x.seed } : {}), ...(x.provider !== undefined ? { provider: x.provider } : {}), ...(x.targets?.length ? { targets: [...x.targets] } : {}), ...(x.useCache !== undefined ? { useCache: x.useCache } : {}) };
}

/** The default backend: the engine of this process runs the graph. */
export function inProcessBackend(engine: Engine): RunBackend {
  return {
    execute: (run) => engine.run(run.graph, { runId: run.runId, outDir: run.outDir, signal: run.signal, backpressure: run.backpressure, ...runChoices(run) }),
    close: async () => {},
  };
}
