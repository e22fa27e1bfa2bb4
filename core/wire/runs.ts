import type { ProviderChoice } from './providers.ts';
import type { SweepSummary } from './sweeps.ts';
// The shapes the server sends over HTTP and WebSocket (docs/api.md). Node-free, so the editor's
// browser bundle imports this file itself instead of keeping a copy that drifts.

/**
 * Where a run is in its life. `interrupted`: the server stopped (was killed, or a node ignored
 * cancellation at shutdown) before the run ended; its record holds the events up to then.
 */
export type RunStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';

/** Last known state of one node in a run (what the editor paints on it). */
export interface NodeState {
  state: 'queued' | 'running' | 'done' | 'cached' | 'error' | 'skipped';
  value?: number;
  max?: number;
  durationMs?: number;
  message?: string;
}

/** A run as the API lists it. */
export interface RunInfo {
  readonly id: string;
  readonly status: RunStatus;
  readonly label?: string;
  readonly graphName?: string;
  readonly seed?: number;
  /** The run's requested execution provider (the request's, else the graph's); nodes may pin their own. */
  readonly provider?: ProviderChoice;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly durationMs?: number;
  /** Place in the queue (0 = next) while queued. */
  readonly position?: number;
  readonly eventCount: number;
  readonly nodes: Record<string, NodeState>;
  readonly errors?: readonly NodeErrorInfo[];
}

/** A message on the WebSocket stream (also what the server's RunQueue listeners get). */
export type ServerMessage<E = WireEvent> =
  | { type: 'status'; queue: { running: string[]; pending: string[] } }
  | { type: 'run'; run: RunInfo }
  | { type: 'event'; event: E }
  | { type: 'pong' }
  /** A sweep was created or its counts changed (at most every 250 ms per sweep). */
  | { type: 'sweep'; sweep: SweepSummary }
  | PreviewMessage;

/** A visual form of a node's output: an image or heatmap (PNG data URL) or a plot (numbers). */
export interface PreviewMessage {
  type: 'preview';
  runId: string;
  nodeId: string;
  /** The output port, or `$progress` for a preview passed to `progress()`. */
  port: string;
  index?: number;
  kind: 'image' | 'heatmap' | 'plot';
  width?: number;
  height?: number;
  min?: number;
  max?: number;
  values?: (number | null)[];
  length?: number;
  /** For a list of images/tensors: how many there were (the preview shows the first). */
  count?: number;
  /** `data:image/png;base64,…` for images and heatmaps. */
  src?: string;
  /** The PNG inside the run directory (fetch with `GET /api/runs/{id}/files/{file}`). */
  file?: string;
  /** For a list: PNG files (in the run directory) of its first elements, in order, for a gallery. */
  items?: string[];
}

/** What the executor says about a node that failed. */
export interface NodeErrorInfo {
  readonly nodeId: string;
  readonly nodeType: string;
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** A short description of each input value the node received (types, shapes, sizes). */
  readonly inputs?: Record<string, string>;
}

/**
 * An executor event in wire form (core/engine/events.ts's ExecutionEvent after toWireValue):
 * the common fields typed, the rest by event type.
 */
export interface WireEvent {
  type: string;
  runId: string;
  seq: number;
  t: number;
  nodeId?: string;
  nodeType?: string;
  value?: number;
  max?: number;
  message?: string;
  outputs?: Record<string, unknown>;
  index?: number;
  durationMs?: number;
  cached?: boolean;
  error?: { message: string; name: string };
  reason?: string;
  level?: string;
  [key: string]: unknown;
}
