import type { ProviderChoice } from '../graph/providers.ts';

/** The node whose `execute` an {@link ExecutionScope} wraps. */
export interface ScopedNode {
  readonly runId: string;
  readonly nodeId: string;
  readonly nodeType: string;
  /** The node's effective provider: its own pin, else the run's, else the graph's; undefined: the process default. */
  readonly provider: ProviderChoice | undefined;
  /** One object per run, shared by its nodes' scopes (e.g. to report a fallback once per run). */
  readonly group: object;
  /** Emits a `node:log` warning for this node (and the engine logger's warning line). */
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/**
 * Wraps every call into a node (`execute`, and each `next()` of a streamed result) so that a
 * runtime the node uses can see per-node settings without every plugin passing them along: the
 * built-in `runtime` plugin (plugins/runtime) binds one that hands the node's `provider` to the kernels' sessions and
 * turns their fallback line into a `node:log` event. Bound under {@link EXECUTION_SCOPE}; scopes
 * nest in binding order.
 */
export interface ExecutionScope {
  run<T>(node: ScopedNode, fn: () => T): T;
}
