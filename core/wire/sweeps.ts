// The shapes of a server's sweeps on the wire (docs/api.md, Sweeps). Node-free, so the editor's
// browser bundle imports this file itself.

/**
 * A sweep as `GET /api/sweeps` lists it and the WebSocket's `sweep` message carries it: counts
 * only; `GET /api/sweeps/{id}` has the whole table.
 */
export interface SweepSummary {
  readonly id: string;
  readonly label?: string;
  /** The graph's name (or the label) the sweep ran. */
  readonly graph: string;
  readonly graphName?: string;
  /** `running` while any run is pending, queued or running; `ended` once every run has ended. */
  readonly state: 'running' | 'ended';
  /** Cancelled through the API (its unfinished runs were cancelled). */
  readonly cancelled?: boolean;
  /** The grid's params, `node.param`, in grid order. */
  readonly params: readonly string[];
  readonly seeds: readonly number[];
  /** Runs in all. */
  readonly total: number;
  /** Runs by status (`pending`: not yet queued; then the run statuses). */
  readonly counts: Readonly<Record<string, number>>;
  readonly provider?: string;
  readonly resumedFrom?: string;
  readonly createdAt?: string;
  readonly updatedAt: string;
}

/** Row statuses of a sweep that has not ended. */
export const UNFINISHED_ROW = new Set(['pending', 'queued', 'running']);
