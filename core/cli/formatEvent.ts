import type { ExecutionEvent } from '../engine/events.ts';
import { summarizeValue } from '../util/summarizeValue.ts';

const ms = (x: number) => (x < 1000 ? `${x.toFixed(x < 10 ? 1 : 0)} ms` : `${(x / 1000).toFixed(2)} s`);

/**
 * One plain line for an event (logs, CI, pipes), or undefined for events not worth a line.
 * Progress is reported at most every 10 % per node, so long loops don't flood the log. Pure
 * except for the per-node progress memory passed in.
 */
export function formatEvent(e: ExecutionEvent, lastDecile: Map<string, number> = new Map()): string | undefined {
  switch (e.type) {
    case 'run:start':
      return `run ${e.runId}${e.graphName ? ` "${e.graphName}"` : ''}: ${e.nodes.length} nodes, seed ${e.seed}, output ${e.outDir}`;
    case 'node:start':
      return `  ▸ ${e.nodeId} (${e.nodeType}) started`;
    case 'node:cached':
      return `  ✓ ${e.nodeId} (${e.nodeType}) cached`;
    case 'node:progress': {
      if (!e.max) return e.message ? `    ${e.nodeId}: ${e.message}` : undefined;
      const decile = Math.floor((10 * e.value) / e.max);
      if (lastDecile.get(e.nodeId) === decile) return undefined;
      lastDecile.set(e.nodeId, decile);
      return `    ${e.nodeId}: ${e.value}/${e.max}${e.message ? ' ' + e.message : ''}`;
    }
    case 'node:log':
      return e.level === 'debug' ? undefined : `    ${e.nodeId} ${e.level === 'info' ? '' : e.level + ': '}${e.message}`;
    case 'node:done':
      return e.cached ? undefined : `  ✓ ${e.nodeId} (${e.nodeType}) done in ${ms(e.durationMs)}`;
    case 'node:error':
      return `  ✗ ${e.nodeId} (${e.nodeType}) failed: ${e.error.message}${e.error.inputs && Object.keys(e.error.inputs).length ? `\n      inputs: ${Object.entries(e.error.inputs).map(([k, v]) => `${k}=${v}`).join(', ')}` : ''}`;
    case 'node:skipped':
      return `  - ${e.nodeId} (${e.nodeType}) skipped: ${e.reason}`;
    case 'run:done':
      return `done in ${ms(e.durationMs)}${Object.keys(e.results).length ? '\n' + Object.entries(e.results).map(([id, outs]) => `  ${id}: ${Object.entries(outs).map(([p, v]) => `${p}=${summarizeValue(v)}`).join(', ')}`).join('\n') : ''}`;
    case 'run:failed':
      return e.issues?.length ? `invalid graph` : `failed in ${ms(e.durationMs)}: ${e.errors.length} node error${e.errors.length === 1 ? '' : 's'} (${e.errors.map((x) => x.nodeId).join(', ')})`;
    case 'run:cancelled':
      return `cancelled after ${ms(e.durationMs)}`;
    default:
      return undefined;
  }
}
