import type { ValidationIssue } from '../graph/ValidationIssue.ts';
import type { NodeErrorInfo } from '../wire/runs.ts';

export type { NodeErrorInfo };

interface Base {
  readonly runId: string;
  /** Position in this run's event sequence, from 0. */
  readonly seq: number;
  /** Milliseconds since the run started. */
  readonly t: number;
}

interface NodeBase extends Base {
  readonly nodeId: string;
  readonly nodeType: string;
}

/**
 * The one event stream. The executor emits these; the CLI, the server, the editor and the tests
 * all consume the same union.
 *
 * Order per node: `node:queued` → (`node:cached` | `node:start` → `node:progress`* →
 * `node:output`+ ) → `node:done`, or `node:error`, or `node:skipped`. A run ends with exactly one
 * of `run:done`, `run:failed`, `run:cancelled`.
 */
export type ExecutionEvent =
  | (Base & { readonly type: 'run:start'; readonly seed: number; readonly graphName?: string; readonly nodes: readonly string[]; readonly outDir: string })
  | (NodeBase & { readonly type: 'node:queued' })
  | (NodeBase & { readonly type: 'node:start' })
  | (NodeBase & { readonly type: 'node:progress'; readonly value: number; readonly max?: number; readonly message?: string; readonly preview?: unknown })
  | (NodeBase & { readonly type: 'node:log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly message: string; readonly fields?: Record<string, unknown> })
  /** A value on one or more output ports; streams emit one per element with its `index`. */
  | (NodeBase & { readonly type: 'node:output'; readonly outputs: Readonly<Record<string, unknown>>; readonly index?: number })
  | (NodeBase & { readonly type: 'node:cached' })
  | (NodeBase & { readonly type: 'node:done'; readonly durationMs: number; readonly cached: boolean })
  | (NodeBase & { readonly type: 'node:error'; readonly error: NodeErrorInfo })
  | (NodeBase & { readonly type: 'node:skipped'; readonly reason: string })
  | (Base & { readonly type: 'run:done'; readonly durationMs: number; readonly results: Readonly<Record<string, Readonly<Record<string, unknown>>>> })
  | (Base & { readonly type: 'run:failed'; readonly durationMs: number; readonly errors: readonly NodeErrorInfo[]; readonly issues?: readonly ValidationIssue[] })
  | (Base & { readonly type: 'run:cancelled'; readonly durationMs: number });

export type ExecutionEventType = ExecutionEvent['type'];

/** Narrows an event union member by its `type`. */
export type EventOf<T extends ExecutionEventType> = Extract<ExecutionEvent, { type: T }>;

/** Whether an event ends the run. */
export function isTerminalEvent(e: ExecutionEvent): e is EventOf<'run:done' | 'run:failed' | 'run:cancelled'> {
  return e.type === 'run:done' || e.type === 'run:failed' || e.type === 'run:cancelled';
}
