import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { createTsWorker } from 'tessera';
import { buildManifest, type Manifest, writeManifest } from './dataset.ts';
import { type ManifestEntry, writeSample } from './files.ts';
import type { Split } from './identity.ts';
import { type GeneratorConfig, generateSample, type SampleRequest, type SemAlignSample, validateConfig } from './sample.ts';

/** How many samples per split, and where each split's index range starts. */
export interface SplitCounts {
  readonly train?: number;
  readonly val?: number;
  readonly test?: number;
  /** First index per split (default 0): lets several runs fill disjoint index ranges. */
  readonly start?: Partial<Record<Split, number>>;
}

/** Expands split counts into sample requests in manifest order. */
export function requestsFor(counts: SplitCounts): SampleRequest[] {
  const out: SampleRequest[] = [];
  for (const split of ['train', 'val', 'test'] as const) {
    const n = counts[split] ?? 0;
    const start = counts.start?.[split] ?? 0;
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`count for split ${split} must be a non-negative integer, got ${n}`);
    for (let i = 0; i < n; i++) out.push({ split, index: start + i });
  }
  return out;
}

/** Progress and cancellation hooks for the generation drivers. */
export interface DriveOptions {
  /** Worker threads; 0 = generate on the calling thread. Default: min(4, cores). */
  readonly workers?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
  /** Samples per worker job (default 32). */
  readonly chunk?: number;
}

/** Generates samples in memory on the calling thread. */
export function generateInMemory(config: GeneratorConfig, counts: SplitCounts, opts: DriveOptions = {}): SemAlignSample[] {
  validateConfig(config);
  const reqs = requestsFor(counts);
  return reqs.map((r, i) => {
    opts.signal?.throwIfAborted();
    const s = generateSample(config, r);
    opts.onProgress?.(i + 1, reqs.length);
    return s;
  });
}

/**
 * Generates a dataset under `root` (PNG files + one JSON per sample) and writes manifest.json
 * last. Samples are pure functions of (config, split, index), so workers can take chunks in any
 * order and the bytes on disk never depend on the worker count.
 */
export async function generateToDisk(root: string, config: GeneratorConfig, counts: SplitCounts, opts: DriveOptions = {}): Promise<Manifest> {
  validateConfig(config);
  const reqs = requestsFor(counts);
  const workers = Math.min(opts.workers ?? Math.min(4, availableParallelism()), Math.ceil(reqs.length / 8));
  const entries: ManifestEntry[] = [];
  if (workers <= 0) {
    for (const r of reqs) {
      opts.signal?.throwIfAborted();
      entries.push(writeSample(root, generateSample(config, r)));
      opts.onProgress?.(entries.length, reqs.length);
    }
  } else {
    entries.push(...(await runWorkers(root, config, reqs, workers, opts)));
  }
  const manifest = buildManifest(config, entries);
  await writeManifest(root, manifest);
  return manifest;
}

function runWorkers(root: string, config: GeneratorConfig, reqs: SampleRequest[], n: number, opts: DriveOptions): Promise<ManifestEntry[]> {
  const chunk = opts.chunk ?? 32;
  const jobs: SampleRequest[][] = [];
  for (let i = 0; i < reqs.length; i += chunk) jobs.push(reqs.slice(i, i + chunk));
  const entries: ManifestEntry[] = [];
  return new Promise((resolve, reject) => {
    const pool: Worker[] = [];
    let next = 0;
    let running = 0;
    let failed = false;
    const stop = (err?: unknown) => {
      if (failed) return;
      failed = err !== undefined;
      for (const w of pool) void w.terminate();
      opts.signal?.removeEventListener('abort', onAbort);
      if (err !== undefined) reject(err);
      else resolve(entries);
    };
    const onAbort = () => stop(opts.signal!.reason ?? new Error('aborted'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const feed = (w: Worker) => {
      if (next >= jobs.length) {
        if (running === 0) stop();
        return;
      }
      running++;
      w.postMessage({ requests: jobs[next++] });
    };
    for (let i = 0; i < n; i++) {
      const w = createTsWorker(new URL('./worker.ts', import.meta.url), { workerData: { root, config } });
      pool.push(w);
      w.on('message', (msg: { entries?: ManifestEntry[]; error?: string }) => {
        running--;
        if (msg.error) return stop(new Error(msg.error));
        entries.push(...msg.entries!);
        opts.onProgress?.(entries.length, reqs.length);
        feed(w);
      });
      w.on('error', (e) => stop(e));
      w.on('exit', (code) => {
        if (code !== 0 && !failed && (next < jobs.length || running > 0)) stop(new Error(`generation worker exited with code ${code}`));
      });
      feed(w);
    }
    if (jobs.length === 0) stop();
  });
}
