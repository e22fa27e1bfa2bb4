import type { ExecutionScope } from 'tessera';
import { runWithProviderScope, type Provider } from 'tessera/kernels';

/** Providers already reported per run (ScopedNode.group), so a run reports each fallback once. */
const reportedByRun = new WeakMap<object, Set<Provider>>();

/**
 * Hands each node's effective `provider` to the kernels' sessions it opens, and turns the
 * kernels' fallback line ("execution provider 'webgpu' unavailable …; running on cpu") into a
 * `node:log` warning of the node that hit it, once per run and provider.
 */
export const providerScope: ExecutionScope = {
  run(node, fn) {
    let reported = reportedByRun.get(node.group);
    if (!reported) reportedByRun.set(node.group, (reported = new Set()));
    return runWithProviderScope({ ...(node.provider !== undefined ? { setting: node.provider } : {}), log: (line, fields) => node.warn(line, fields), reported }, fn);
  },
};
