import type { GraphDocument } from '../graph/GraphDocument.ts';
import type { ProviderChoice } from '../graph/providers.ts';
import type { NodeErrorInfo, RunStatus } from '../wire/runs.ts';

/** How a sweep's run ended. */
export interface SweepRunEnd {
  readonly status: RunStatus;
  readonly durationMs?: number;
  /** The run:done results (wire form). */
  readonly results?: Record<string, unknown>;
  readonly errors?: readonly NodeErrorInfo[];
}

/**
 * Where a sweep's runs go: a RunQueue in this process (executing here, or through Redis on
 * `tessera worker`s) or a running `tessera serve`. The sweep submits each cell and waits for it.
 */
export interface SweepTarget {
  /** In words, for the table: `in-process`, `redis host:port`, a server URL. */
  readonly where: string;
  /** The folder of the run directories, when the sweep knows it. */
  readonly runsDir?: string;
  /** Queues one run; resolves with its id once it is accepted. */
  submit(run: { graph: GraphDocument; seed: number; label: string; provider?: ProviderChoice }): Promise<string>;
  /**
   * Optional: calls `started` with the id of each submitted run once it starts executing (a
   * server's table shows it `running`); a run may start before its submit has resolved.
   */
  watchStarts?(started: (runId: string) => void): void;
  /** Resolves when the run has ended. */
  wait(runId: string): Promise<SweepRunEnd>;
  /**
   * Cells submitted and waited for at once; unset: every cell (the target queues them itself).
   * A server target polls each run it waits for, so it caps them.
   */
  readonly inFlight?: number;
  /** Whether a run id of an earlier sweep process can still be waited for (a server keeps its runs). */
  readonly reattach: boolean;
  close(): Promise<void>;
}
