import { resolve } from 'node:path';
import { artifactsOption } from '../storage/artifactsOption.ts';
import type { CliIo } from '../cli/CliIo.ts';
import type { Engine } from '../engine/Engine.ts';
import { ENGINE_API_VERSION } from '../version.ts';
import { redisConnectionOrProblem } from './redisConnection.ts';
import { RunWorker } from './RunWorker.ts';
import { stopSignal } from '../cli/stopSignal.ts';

/** Options of `tessera worker`. */
export interface WorkerOptions {
  queue: string;
  concurrency: number;
  /** The server's runs folder, shared (default ./runs). */
  runsDir: string;
  /** Lock duration and stalled-check interval in ms. */
  lockMs: number;
  /** The engine, or how to load it (the CLI's loader: built-ins, config, --plugin, node_modules). */
  engine: Engine | (() => Promise<Engine>);
  /** --insecure-redis: allow a non-loopback Redis without password or TLS. */
  insecureRedis?: boolean;
  /** --redis-ca: the CA file that signed a `rediss://` Redis's certificate. */
  redisCa?: string;
  /** The Redis password when the URL has none ($TESSERA_REDIS_PASSWORD). */
  redisPassword?: string;
  /** --artifacts s3://bucket/prefix: upload each run directory there (runsDir is then this machine's own). */
  artifacts?: string;
  /** --s3-endpoint: an S3-compatible server. */
  s3Endpoint?: string;
  /** --artifacts-sync-s: how often a running run's changed files are uploaded (default 30; 0: only at its end). */
  artifactsSyncS?: number;
  /** Resolves when the worker should stop (default: SIGINT or SIGTERM). */
  stop?: Promise<unknown>;
}

/** The longest --artifacts-sync-s: Node's timers take at most 2^31-1 ms (a longer one fires after 1 ms). */
export const MAX_SYNC_S = Math.floor((2 ** 31 - 1) / 1000);

/**
 * `tessera worker`: runs jobs from the Redis queue until SIGINT/SIGTERM (the first waits for the
 * runs in progress; a second leaves at once, and their jobs are retried elsewhere). Returns 2 for
 * bad options or an unreachable Redis, 0 after a stop.
 */
export async function workerCommand(opts: WorkerOptions, io: CliIo): Promise<number> {
  const connection = await redisConnectionOrProblem(opts.queue, { insecure: opts.insecureRedis === true, password: opts.redisPassword, caFile: opts.redisCa });
  if (typeof connection === 'string') {
    io.stderr.write(`error: ${connection}\n`);
    return 2;
  }
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
    io.stderr.write('error: --concurrency must be a positive integer\n');
    return 2;
  }
  if (!Number.isInteger(opts.lockMs) || opts.lockMs < 100) {
    io.stderr.write('error: --lock-ms must be an integer of at least 100\n');
    return 2;
  }
  if (opts.artifactsSyncS !== undefined && !(Number.isFinite(opts.artifactsSyncS) && opts.artifactsSyncS >= 0 && opts.artifactsSyncS <= MAX_SYNC_S)) {
    io.stderr.write(`error: --artifacts-sync-s must be a number of seconds from 0 (only when a run ends) to ${MAX_SYNC_S}\n`);
    return 2;
  }
  const artifacts = await artifactsOption(opts);
  if (typeof artifacts === 'string') {
    io.stderr.write(`error: ${artifacts}\n`);
    return 2;
  }
  const engine = typeof opts.engine === 'function' ? await opts.engine() : opts.engine;
  const runsDir = resolve(opts.runsDir);
  let worker: RunWorker;
  try {
    worker = await RunWorker.start({
      connection, engine, engineVersion: ENGINE_API_VERSION, runsDir, concurrency: opts.concurrency, lockMs: opts.lockMs,
      ...(artifacts ? { artifacts, artifactsSyncMs: (opts.artifactsSyncS ?? 30) * 1000 } : {}),
      onNote: (line) => io.stdout.write(`${line}\n`),
    });
  } catch (error) {
    artifacts?.close();
    io.stderr.write(`error: ${(error as Error).message}\n`);
    return 2;
  }
  io.stdout.write(`tessera worker ${worker.name} on ${connection.host}:${connection.port} (engine ${ENGINE_API_VERSION}, concurrency ${opts.concurrency}); runs in ${runsDir}${artifacts ? `, uploaded to ${artifacts.where}` : ''}\n`);
  let force = false;
  await (opts.stop ??
    stopSignal(() => {
      force = true;
      io.stderr.write('stopping now; the jobs in progress are retried on another worker\n');
      void worker.close(true).finally(() => {
        artifacts?.close();
        process.exit(1);
      });
    }));
  if (!force) io.stdout.write(`stopping (waiting for ${worker.running} run${worker.running === 1 ? '' : 's'} in progress)…\n`);
  await worker.close(force);
  artifacts?.close();
  return 0;
}
