import { readFileSync } from 'node:fs';
import { artifactsOption } from '../storage/artifactsOption.ts';
import type { CliIo } from '../cli/CliIo.ts';
import type { Engine } from '../engine/Engine.ts';
import { isLoopback } from './auth.ts';
import { ENGINE_API_VERSION } from '../version.ts';
import { createServer, UPLOAD_GRACE_MS } from './createServer.ts';
import { stopSignal } from '../cli/stopSignal.ts';

/** Options of `tessera serve`. */
export interface ServeOptions {
  host: string;
  port: number;
  token?: string;
  concurrency: number;
  workspace: string;
  /** Wall-time limit of one run, in seconds (0 or absent: none). */
  runTimeout?: number;
  /** Process RSS in MiB past which running runs are stopped (a process-level watchdog; 0 or absent: none). */
  runMemoryMb?: number;
  /** A redis:// URL: runs go to `tessera worker`s through BullMQ instead of running here. */
  queue?: string;
  /** --insecure-redis: allow a non-loopback `queue` without password or TLS (core/queue/redisAccess.ts). */
  insecureRedis?: boolean;
  /** --redis-ca: the CA file that signed a `rediss://` Redis's certificate. */
  redisCa?: string;
  /** The Redis password when the `queue` URL has none ($TESSERA_REDIS_PASSWORD). */
  redisPassword?: string;
  /** --artifacts s3://bucket/prefix: runs are read from there when not in the runs folder (workers upload them). */
  artifacts?: string;
  /** --s3-endpoint: an S3-compatible server. */
  s3Endpoint?: string;
  /**
   * The engine to serve, or how to load it (the CLI passes its own loader, so `serve` sees the
   * same plugins as `run`: built-ins, tessera.config.json, `--plugin`, node_modules). core/
   * knows no plugins, so the caller always says.
   */
  engine: Engine | (() => Promise<Engine>);
  /**
   * Resolves when the server should stop (default: the first SIGINT or SIGTERM). Given one, the
   * process-level safety exits are not armed: an embedding program or a test keeps its process.
   */
  stop?: Promise<unknown>;
}

/** How long runs get to end after SIGINT/SIGTERM, and when the process leaves regardless. */
const SHUTDOWN_GRACE_MS = 3000;
const SHUTDOWN_LIMIT_MS = 4500;

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * `tessera serve`: the HTTP/WebSocket API and the visual editor, until SIGINT/SIGTERM. Returns
 * 2 for bad options (a non-loopback bind without a token, a port in use), 0 after a clean stop.
 */
export async function serveCommand(opts: ServeOptions, io: CliIo): Promise<number> {
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    io.stderr.write(`error: --port must be an integer in 0..65535\n`);
    return 2;
  }
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
    io.stderr.write(`error: --concurrency must be a positive integer\n`);
    return 2;
  }
  for (const [flag, value] of [['--run-timeout', opts.runTimeout], ['--run-memory-mb', opts.runMemoryMb]] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      io.stderr.write(`error: ${flag} must be a non-negative number (0 = no limit)\n`);
      return 2;
    }
  }
  const token = opts.token || undefined;
  // Refuse an exposed bind before the (slow) plugin loading.
  if (!isLoopback(opts.host) && !token) {
    io.stderr.write(`error: binding ${opts.host} exposes the server beyond this machine: pass --token (or set TESSERA_TOKEN)\n`);
    return 2;
  }
  if (opts.redisCa !== undefined && opts.queue === undefined) {
    io.stderr.write('error: --redis-ca has a meaning only with --queue\n');
    return 2;
  }
  let connection;
  if (opts.queue !== undefined) {
    const { redisConnectionOrProblem } = await import('../queue/redisConnection.ts');
    connection = await redisConnectionOrProblem(opts.queue, { insecure: opts.insecureRedis === true, password: opts.redisPassword, caFile: opts.redisCa });
    if (typeof connection === 'string') {
      io.stderr.write(`error: ${connection}\n`);
      return 2;
    }
  }
  const artifacts = await artifactsOption(opts);
  if (typeof artifacts === 'string') {
    io.stderr.write(`error: ${artifacts}\n`);
    return 2;
  }
  const engine = typeof opts.engine === 'function' ? await opts.engine() : opts.engine;
  let backend;
  if (connection) {
    const { RedisRunBackend } = await import('../queue/RedisRunBackend.ts');
    try {
      backend = await RedisRunBackend.connect(connection, { engineVersion: ENGINE_API_VERSION, logger: engine.logger, ...(artifacts ? { artifacts: artifacts.where } : {}) });
    } catch (error) {
      artifacts?.close();
      io.stderr.write(`error: ${(error as Error).message}\n`);
      return 2;
    }
  }
  let server;
  try {
    server = createServer({ engine, ...(backend ? { backend } : {}), ...(artifacts ? { artifacts } : {}), host: opts.host, port: opts.port, ...(token ? { token } : {}), concurrency: opts.concurrency, workspace: opts.workspace, version: pkg.version, runTimeoutMs: (opts.runTimeout ?? 0) * 1000, runMemoryMb: opts.runMemoryMb ?? 0 });
    await server.listen();
  } catch (error) {
    await backend?.close();
    artifacts?.close();
    io.stderr.write(`error: ${(error as Error).message}\n`);
    return 2;
  }
  io.stdout.write(`tessera ${pkg.version} serving ${server.url}${token ? ' (token required)' : ''}\n`);
  io.stdout.write(`  editor    ${server.url}${token ? '?token=…' : ''}\n  API       ${server.url}api/  (docs/api.md)\n  runs in   ${server.queue.runsDir}\n`);
  if (connection) io.stdout.write(`  queue     redis ${connection.host}:${connection.port} (runs execute on \`tessera worker\`s; pass them ${artifacts ? `--artifacts ${artifacts.where}` : `--runs-dir ${server.queue.runsDir}`})\n`);
  if (artifacts) io.stdout.write(`  artifacts ${artifacts.where} (runs not in the runs folder are read from there${connection ? '' : '; runs executed here are uploaded there when they end'})\n`);
  const ownsProcess = opts.stop === undefined;
  await (opts.stop ?? stopSignal());
  io.stdout.write('stopping (cancelling queued and running runs)…\n');
  // Runs get SHUTDOWN_GRACE_MS to stop; a node that ignores cancellation is recorded as
  // interrupted, and if even that hangs the process leaves anyway, within 5 s of the signal.
  const hardStop = ownsProcess
    ? setTimeout(() => {
        io.stderr.write('error: shutdown took too long; exiting\n');
        process.exit(1);
        // With a bucket, the uploads of runs executed here and of sweep tables get the time they are waited for.
      }, SHUTDOWN_LIMIT_MS + (artifacts ? UPLOAD_GRACE_MS : 0)).unref()
    : undefined;
  const clean = await server.queue.close(SHUTDOWN_GRACE_MS);
  await server.close();
  clearTimeout(hardStop);
  if (!clean) {
    io.stderr.write('warning: a run ignored cancellation and was recorded as interrupted\n');
    // Its node may still hold the event loop open (a timer, a socket): leave regardless.
    if (ownsProcess) setTimeout(() => process.exit(0), 100).unref();
  }
  return 0;
}
