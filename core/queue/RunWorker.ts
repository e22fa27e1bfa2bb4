import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Engine } from '../engine/Engine.ts';
import { toWireValue } from '../util/summarizeValue.ts';
import { connectRedis } from './connectRedis.ts';
import { CANCEL_CHANNEL, CANCELLED_KEY, EVENTS_CHANNEL, QUEUE_NAME } from './names.ts';
import type { RemoteEvent, RemoteRefusal, RunJobResult } from './remoteMessage.ts';
import { isTerminalEvent } from '../engine/events.ts';
import type { RedisConnection } from './redisUrl.ts';
import { parseRunJob, refusalOf } from './RunJob.ts';
import { readRunsDirMarker } from './runsDirMarker.ts';
import { runChoices } from '../server/RunBackend.ts';

/** Options of a {@link RunWorker}. */
export interface RunWorkerOptions {
  readonly connection: RedisConnection;
  readonly engine: Engine;
  /** The engine API version this worker runs (core/version.ts). */
  readonly engineVersion: string;
  /** Runs write their artifacts into `<runsDir>/<runId>/`: the server's runs folder, shared. */
  readonly runsDir: string;
  /** Jobs run at once (default 1). */
  readonly concurrency?: number;
  /** Shown to the server in refusals and takeovers (default host:pid). */
  readonly name?: string;
  /** BullMQ lock duration and stalled-job check interval: how soon a dead worker's job is retried (default 30 s). */
  readonly lockMs?: number;
  /** How long a refused job waits before a worker may take it again (default 2 s). */
  readonly refuseDelayMs?: number;
  /** Told of each job taken, refused, rejected and ended (the CLI prints them). */
  readonly onNote?: (line: string) => void;
}

/**
 * A worker of `tessera worker`: takes run jobs from the BullMQ queue and runs them with its
 * engine, publishing every event through Redis for the server.
 *
 * Before anything runs, a job is checked: a payload that is not a {@link RunJob} is rejected
 * (failed for good, never executed); a job for another engine major version or naming node
 * types this worker lacks is refused: logged on the job, reported to the server, and put back
 * (delayed) for another worker. The graph is data: no code travels in a job, and a worker runs
 * only node types its own plugins define.
 */
export class RunWorker {
  readonly name: string;
  readonly #o: RunWorkerOptions;
  readonly #available: ReadonlySet<string>;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #worker: Worker;
  readonly #controllers = new Map<string, AbortController>();

  private constructor(options: RunWorkerOptions, pub: Redis, sub: Redis) {
    this.#o = options;
    this.name = options.name ?? `${hostname()}:${process.pid}`;
    this.#available = new Set(options.engine.describeNodes().map((d) => d.type));
    this.#pub = pub;
    this.#sub = sub;
    const lockMs = options.lockMs ?? 30_000;
    this.#worker = new Worker(QUEUE_NAME, (job, token) => this.#process(job, token), {
      connection: options.connection, concurrency: Math.max(1, options.concurrency ?? 1),
      lockDuration: lockMs, stalledInterval: lockMs, autorun: false,
    });
    this.#worker.on('error', (error) => options.onNote?.(`redis: ${error.message}`));
    sub.on('message', (channel, text) => {
      if (channel !== CANCEL_CHANNEL) return;
      try {
        const m = JSON.parse(text) as unknown;
        const runId = typeof m === 'object' && m !== null && 'runId' in m && typeof m.runId === 'string' ? m.runId : undefined;
        if (runId !== undefined) this.#controllers.get(runId)?.abort();
      } catch {
        // Not a cancel message: nothing of ours.
      }
    });
  }

  /** Connects (failing fast when Redis cannot be reached) and starts taking jobs. */
  static async start(options: RunWorkerOptions): Promise<RunWorker> {
    const pub = await connectRedis(options.connection);
    const sub = await connectRedis(options.connection).catch((error: unknown) => {
      pub.disconnect();
      throw error;
    });
    await sub.subscribe(CANCEL_CHANNEL);
    const w = new RunWorker(options, pub, sub);
    void w.#worker.run();
    await w.#worker.waitUntilReady();
    return w;
  }

  /** Runs in progress. */
  get running(): number {
    return this.#controllers.size;
  }

  /**
   * Stops taking jobs. `force`: leaves at once, and the jobs it held are retried on another
   * worker once their lock expires; otherwise waits for them to end.
   */
  async close(force = false): Promise<void> {
    // Forced: the runs in hand stop too, so a job retried elsewhere is not also still running here.
    if (force) for (const c of this.#controllers.values()) c.abort();
    await this.#worker.close(force);
    await Promise.allSettled([this.#pub.quit(), this.#sub.quit()]);
  }

  async #process(job: Job, token: string | undefined): Promise<RunJobResult> {
    const note = this.#o.onNote ?? (() => {});
    const parsed = parseRunJob(job.data);
    if ('error' in parsed) {
      note(`job ${job.id}: rejected: ${parsed.error}`);
      throw new UnrecoverableError(`rejected by worker ${this.name}: ${parsed.error}`);
    }
    const run = parsed.job;
    if (job.id !== run.runId) {
      note(`job ${job.id}: rejected: its id is not its runId`);
      throw new UnrecoverableError(`rejected by worker ${this.name}: the job id is not the runId of its payload`);
    }
    const refusal = refusalOf(run, this.#o.engineVersion, this.#available, { path: this.#o.runsDir, id: await readRunsDirMarker(this.#o.runsDir) });
    if (refusal) {
      note(`run ${run.runId}: refused: ${refusal}`);
      await job.log(`refused by worker ${this.name}: ${refusal}`);
      const message: RemoteRefusal = { runId: run.runId, worker: this.name, refused: refusal };
      await this.#pub.publish(EVENTS_CHANNEL, JSON.stringify(message));
      // Back to the queue (not failed): another worker, or this one with the plugin, takes it.
      await job.moveToDelayed(Date.now() + (this.#o.refuseDelayMs ?? 2000), token);
      throw new DelayedError();
    }
    const controller = new AbortController();
    this.#controllers.set(run.runId, controller);
    try {
      // Registered before this check, so a cancel published after it is seen by the listener.
      if (await this.#pub.exists(CANCELLED_KEY + run.runId)) controller.abort();
      const outDir = join(this.#o.runsDir, run.runId);
      await mkdir(outDir, { recursive: true });
      const attempt = randomBytes(8).toString('hex');
      note(`run ${run.runId}: started (${run.nodeTypes.length} node types)`);
      let last: Promise<unknown> = Promise.resolve();
      let status = 'failed';
      let terminal: RemoteEvent | undefined;
      await new Promise<void>((resolve, reject) => {
        this.#o.engine
          .run(run.graph, {
            runId: run.runId, outDir, signal: controller.signal,
            // Publishing slower than the run holds the run back instead of buffering.
            backpressure: () => last.then(() => undefined),
            ...runChoices(run),
          })
          .subscribe({
            next: (event) => {
              status = event.type;
              const message: RemoteEvent = { runId: run.runId, attempt, worker: this.name, event: toWireValue(event) as RemoteEvent['event'] };
              if (isTerminalEvent(event)) terminal = message;
              // One connection publishes in order, so the server sees the events in order.
              // Chained, so a publish that fails (the connection closed mid-run) is awaited below
              // instead of becoming an unhandled rejection that ends the worker.
              last = last.then(() => this.#pub.publish(EVENTS_CHANNEL, JSON.stringify(message)));
            },
            error: reject,
            complete: resolve,
          });
      });
      await last;
      note(`run ${run.runId}: ${status.replace('run:', '')}`);
      // The last event also goes into the job's result, which Redis keeps (AOF): a server that
      // missed it on pub/sub (Redis restarted, a connection dropped) still ends the run with it.
      return { status, ...(terminal ? { terminal } : {}) };
    } finally {
      // Only this attempt's own entry: a retry of the same run on this worker may hold the key now.
      if (this.#controllers.get(run.runId) === controller) this.#controllers.delete(run.runId);
    }
  }
}
