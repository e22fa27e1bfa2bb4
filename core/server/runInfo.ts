import { RUN_RECORD_FORMAT, RUN_RECORD_VERSION, type RunRecord } from '../records/RunRecord.ts';
import type { NodeState, RunInfo } from '../wire/runs.ts';

/** A run as the API lists it, from its record (read from disk: no per-node state). */
export function runInfoOf(id: string, r: RunRecord): RunInfo {
  const label = r.label ?? r.file;
  return {
    id,
    status: r.status,
    ...(label !== undefined ? { label } : {}),
    ...(r.graphName !== undefined ? { graphName: r.graphName } : {}),
    ...(r.seed !== undefined ? { seed: r.seed } : {}),
    ...(r.provider !== undefined ? { provider: r.provider } : {}),
    createdAt: r.createdAt,
    ...(r.startedAt !== undefined ? { startedAt: r.startedAt } : {}),
    ...(r.finishedAt !== undefined ? { finishedAt: r.finishedAt } : {}),
    ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}),
    eventCount: r.eventCount,
    nodes: Object.create(null) as Record<string, NodeState>,
    ...(r.errors?.length ? { errors: r.errors.map(({ stack: _stack, ...rest }) => rest) } : {}),
  };
}

/** The record of a server run, from its listing (the per-node state and queue place are not kept). */
export function recordOf(info: RunInfo, extra: { error?: string } = {}): RunRecord {
  const { id, nodes: _nodes, position: _position, ...summary } = info;
  return { format: RUN_RECORD_FORMAT, version: RUN_RECORD_VERSION, runId: id, writer: 'server', ...summary, ...(extra.error !== undefined ? { error: extra.error } : {}) };
}
