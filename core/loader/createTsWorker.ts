import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread that runs a TypeScript entry with the engine's loader: TypeScript via tsx and
 * `'tessera'` / `'tessera/…'` resolved to this engine. Module hooks are per thread and Node 20
 * does not apply `--import` to a worker's own entry, so a tiny eval'd script registers the
 * loader in the worker, then imports the entry.
 *
 * @example
 * const w = createTsWorker(new URL('./worker.ts', import.meta.url), { workerData: { job } });
 */
export function createTsWorker(entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const loader = new URL('./register.mjs', import.meta.url).href;
  const code = `import(${JSON.stringify(loader)}).then(() => import(${JSON.stringify(entry.href)}));`;
  return new Worker(code, { ...options, eval: true });
}
