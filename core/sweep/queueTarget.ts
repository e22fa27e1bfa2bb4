import type { Engine } from '../engine/Engine.ts';
import { TERMINAL_STATUS } from '../records/RunRecord.ts';
import type { RunBackend } from '../server/RunBackend.ts';
import { RunQueue } from '../server/RunQueue.ts';
import { isRecord } from '../util/own.ts';
import type { NodeErrorInfo } from '../wire/runs.ts';
import type { SweepRunEnd, SweepTarget } from './SweepTarget.ts';

/**
 * A sweep target that is the server's own RunQueue in this process: it writes the run records
 * into `runsDir` exactly as `tessera serve` does, and executes the runs here (the default
 * backend, `concurrency` at a time) or hands them to workers (the Redis backend).
 */
export function queueTarget(options: { engine: Engine; runsDir: string; concurrency: number; backend?: RunBackend; where: string }): SweepTarget {
  const queue = new RunQueue({ engine: options.engine, runsDir: options.runsDir, concurrency: options.concurrency, ...(options.backend ? { backend: options.backend } : {}) });
  return runQueueTarget(queue, { where: options.where, runsDir: options.runsDir, close: () => queue.close().then(() => undefined) });
}

/**
 * A sweep target over an existing RunQueue (a server's: `POST /api/sweeps`), which other runs
 * share: only the runs this target submitted are followed. `close` releases what the caller
 * wants released (the queue, when the target owns it).
 */
export function runQueueTarget(queue: RunQueue, options: { where: string; runsDir: string; close?: () => Promise<void> }): SweepTarget {
  const own = new Set<string>();
  const terminal = new Map<string, Record<string, unknown>>();
  const ended = new Map<string, SweepRunEnd>();
  const waiters = new Map<string, (end: SweepRunEnd) => void>();
  let started: ((runId: string) => void) | undefined;
  const unsubscribe = queue.onMessage((m) => {
    if (m.type === 'event' && TERMINAL_STATUS.has(String(m.event.type)) && typeof m.event.runId === 'string' && own.has(m.event.runId)) terminal.set(m.event.runId, m.event);
    if (m.type === 'run' && m.run.status === 'running' && own.has(m.run.id)) started?.(m.run.id);
    if (m.type !== 'run' || !own.has(m.run.id) || m.run.status === 'queued' || m.run.status === 'running') return;
    own.delete(m.run.id);
    const event = terminal.get(m.run.id);
    terminal.delete(m.run.id);
    const end: SweepRunEnd = {
      status: m.run.status,
      ...(m.run.durationMs !== undefined ? { durationMs: m.run.durationMs } : {}),
      ...(event?.type === 'run:done' && isRecord(event.results) ? { results: event.results } : {}),
      ...(m.run.errors ? { errors: m.run.errors } : event && Array.isArray(event.errors) ? { errors: event.errors as NodeErrorInfo[] } : {}),
    };
    const waiter = waiters.get(m.run.id);
    if (waiter) {
      waiters.delete(m.run.id);
      waiter(end);
    } else ended.set(m.run.id, end);
  });
  return {
    where: options.where,
    runsDir: options.runsDir,
    reattach: false,
    submit: async ({ graph, seed, label, provider }) => {
      // enqueue announces the run (queued) before it returns; it cannot end before `own` has it.
      const id = queue.enqueue({ graph, seed, label, ...(provider ? { provider } : {}) }).id;
      own.add(id);
      // A free slot starts the run inside enqueue, before `own` had it.
      if (queue.get(id)?.status === 'running') started?.(id);
      return id;
    },
    watchStarts: (listener) => {
      started = listener;
    },
    wait: (runId) =>
      new Promise<SweepRunEnd>((resolve) => {
        const end = ended.get(runId);
        if (end) {
          ended.delete(runId);
          resolve(end);
        } else waiters.set(runId, resolve);
      }),
    close: async () => {
      unsubscribe();
      await options.close?.();
    },
  };
}
