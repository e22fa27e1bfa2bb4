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
import { isTerminalEvent, type ExecutionEvent } from '../engine/events.ts';
import { PreviewThrottle } from '../server/PreviewThrottle.ts';
import type { RedisConnection } from './redisUrl.ts';
import { parseRunJob, refusalOf, type RunJob } from './RunJob.ts';
import { readRunsDirMarker } from './runsDirMarker.ts';
import { runChoices } from '../server/RunBackend.ts';
import type { ArtifactStore } from '../storage/ArtifactStore.ts';
import { RunDirSync } from '../storage/RunDirSync.ts';
import { UPLOAD_RETRY } from '../storage/withRetries.ts';
import { RunRecordWriter } from '../records/RunRecordWriter.ts';
import { workerRunRecord } from './workerRunRecord.ts';
import { failedTerminal } from './failedTerminal.ts';

/** Options of a {@link RunWorker}. */
export interface RunWorkerOptions {
  readonly connection: RedisConnection;
  readonly engine: Engine;
  /** The engine API version this worker runs (core/version.ts). */
  readonly engineVersion: string;
  /** Runs write their artifacts into `<runsDir>/<runId>/`: the server's runs folder, shared. */
  readonly runsDir: string;
  /**
   * Object storage the worker uploads each run directory to (`--artifacts`): then `runsDir` is
   * this machine's own folder, and the server reads the runs from the store.
   */
  readonly artifacts?: ArtifactStore;
  /** While a run goes on, how often its changed files (checkpoints) are uploaded (default 30 s; 0: only at its end). */
  readonly artifactsSyncMs?: number;
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

/** One run's record and uploads, with `--artifacts` (see RunWorker's #uploadOf). */
interface RunUpload {
  /** Records one event in the run's events.jsonl (wire form) and its previews (as the server does for its runs). */
  event(event: ExecutionEvent, wire: unknown): void;
  /**
   * Stores the run (record last); true, why it could not be stored, or {@link TAKEN_OVER} when
   * this attempt no longer holds the job (nothing more was uploaded: the new attempt owns the run).
   */
  finish(terminal: RemoteEvent): Promise<true | string | typeof TAKEN_OVER>;
  /** Stops the periodic uploads and closes events.jsonl. */
  stop(): void;
}

/** What {@link RunUpload.finish} answers when the job's lock is another attempt's. */
const TAKEN_OVER = Symbol('taken over');

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
    const store = this.#o.artifacts;
    const refusal = refusalOf(run, this.#o.engineVersion, this.#available, { path: this.#o.runsDir, id: store ? undefined : await readRunsDirMarker(this.#o.runsDir), ...(store ? { artifacts: store.where } : {}) });
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
    let upload: RunUpload | undefined;
    let finishing = false;
    let lastSeq = -1;
    let terminal: RemoteEvent | undefined;
    const attempt = randomBytes(8).toString('hex');
    try {
      // Registered before this check, so a cancel published after it is seen by the listener.
      if (await this.#pub.exists(CANCELLED_KEY + run.runId)) controller.abort();
      const outDir = join(this.#o.runsDir, run.runId);
      await mkdir(outDir, { recursive: true });
      // Fencing: the final upload happens only while this attempt still holds the job's lock
      // (BullMQ's extendLock answers 0 once the lock expired and another worker may have taken
      // the run over). When Redis cannot say, the run is uploaded (it would be lost otherwise).
      const lockMs = this.#o.lockMs ?? 30_000;
      const stillOurs = async (): Promise<boolean> => {
        if (token === undefined) return true;
        try {
          return (await job.extendLock(token, lockMs)) === 1;
        } catch (error) {
          note(`run ${run.runId}: its lock could not be checked (${(error as Error).message}); uploading it anyway`);
          return true;
        }
      };
      upload = store ? await this.#uploadOf(store, run, outDir, new Date(job.timestamp), note, attempt, stillOurs) : undefined;
      note(`run ${run.runId}: started (${run.nodeTypes.length} node types)`);
      let last: Promise<unknown> = Promise.resolve();
      let status = 'failed';
      const publish = (message: RemoteEvent) => {
        // One connection publishes in order, so the server sees the events in order.
        // Chained, so a publish that fails (the connection closed mid-run) is awaited below
        // instead of becoming an unhandled rejection that ends the worker.
        last = last.then(() => this.#pub.publish(EVENTS_CHANNEL, JSON.stringify(message)));
      };
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
              lastSeq = event.seq;
              const message: RemoteEvent = { runId: run.runId, attempt, worker: this.name, event: toWireValue(event) as RemoteEvent['event'] };
              upload?.event(event, message.event);
              if (isTerminalEvent(event)) terminal = message;
              // With a store, the run's end is told once its files are stored (below), so a
              // run the server shows ended can be read.
              if (!(upload && isTerminalEvent(event))) publish(message);
            },
            error: reject,
            complete: resolve,
          });
      });
      await last;
      if (upload && terminal) {
        finishing = true;
        const stored = await upload.finish(terminal);
        if (stored === TAKEN_OVER) throw new Error(`run ${run.runId} was taken over by another attempt before it was stored; this attempt's end is dropped`);
        if (stored !== true) {
          status = 'run:failed';
          terminal = failedTerminal(terminal, 'ArtifactUploadError', stored);
        }
        publish(terminal);
        await last;
      }
      note(`run ${run.runId}: ${status.replace('run:', '')}`);
      // The last event also goes into the job's result, which Redis keeps (AOF): a server that
      // missed it on pub/sub (Redis restarted, a connection dropped) still ends the run with it.
      return { status, ...(terminal ? { terminal } : {}) };
    } catch (error) {
      // The run or a publish failed before its end was stored: what it has is still stored, as
      // a failed run whose record says why (the job fails; a retry restores its checkpoints).
      if (upload && !finishing) {
        const why = `the run stopped on worker ${this.name}: ${(error as Error)?.message ?? String(error)}`;
        const base: RemoteEvent = terminal ?? { runId: run.runId, attempt, worker: this.name, event: { type: 'run:failed', runId: run.runId, seq: lastSeq + 1, t: 0, durationMs: 0, errors: [] } as unknown as RemoteEvent['event'] };
        await upload.finish(failedTerminal(base, 'WorkerError', why)).catch(() => undefined);
      }
      throw error;
    } finally {
      // Also closes events.jsonl, whatever happened to the finish (never a leaked file handle).
      upload?.stop();
      // Only this attempt's own entry: a retry of the same run on this worker may hold the key now.
      if (this.#controllers.get(run.runId) === controller) this.#controllers.delete(run.runId);
    }
  }

  /**
   * With `--artifacts`: restores what an earlier attempt stored (its checkpoints), records the
   * run here as the server would, uploads changed files every `artifactsSyncMs`, and at the end
   * uploads the directory, run.json last. `finish` answers true, or why the upload failed (the
   * run's directory, record included, stays on this machine).
   */
  async #uploadOf(store: ArtifactStore, run: RunJob, outDir: string, createdAt: Date, note: (line: string) => void, attempt: string, stillOurs: () => Promise<boolean>): Promise<RunUpload> {
    const sync = new RunDirSync(store, run.runId, outDir);
    try {
      const restored = await sync.restore();
      if (restored) note(`run ${run.runId}: restored ${restored} file${restored === 1 ? '' : 's'} of an earlier attempt from ${store.where}`);
    } catch (error) {
      note(`run ${run.runId}: files of an earlier attempt could not be restored (${(error as Error).message}); it starts without them`);
    }
    const startedAt = new Date();
    let eventCount = 0;
    const record = new RunRecordWriter(outDir);
    // previews/<node>/<port>.png, which the editor shows for a finished run (no live messages here).
    const previews = new PreviewThrottle(run.runId, outDir, () => undefined, this.#o.engine.logger);
    const summary = (extra: { terminal?: Record<string, unknown>; error?: string } = {}) =>
      workerRunRecord(run, { attempt, worker: this.name, createdAt, startedAt, eventCount, ...(extra.terminal ? { terminal: extra.terminal, finishedAt: new Date() } : {}), ...(extra.error !== undefined ? { error: extra.error } : {}) });
    void record.begin(run.graph, () => summary()).catch((error: unknown) => note(`run ${run.runId}: its record cannot be written (${(error as Error).message})`));
    const everyMs = this.#o.artifactsSyncMs ?? 30_000;
    // A tick finding the last push still going skips (slow uploads never pile up); a failure is
    // noted once per reason, and the next tick tries again.
    let pushing = false;
    let failedWith = '';
    const timer = everyMs > 0
      ? setInterval(() => {
          if (pushing) return;
          pushing = true;
          sync
            .push()
            .then(() => (failedWith = ''))
            .catch((error: unknown) => {
              const why = (error as Error).message;
              if (why !== failedWith) note(`run ${run.runId}: uploading its files failed (${why}); tried again later`);
              failedWith = why;
            })
            .finally(() => (pushing = false));
        }, everyMs)
      : undefined;
    timer?.unref();
    return {
      event: (event: ExecutionEvent, wire: unknown) => {
        eventCount++;
        record.events.append(JSON.stringify(wire));
        if (event.type === 'node:output') for (const [port, value] of Object.entries(event.outputs)) previews.offer(event.nodeId, port, value, event.index);
        else if (event.type === 'node:progress' && event.preview !== undefined) previews.offer(event.nodeId, '$progress', event.preview);
        else if (event.type === 'node:done') previews.flush(event.nodeId);
      },
      stop: () => {
        clearInterval(timer);
        previews.stop();
        void record.events.close(); // never rejects; a no-op once finish closed it
      },
      finish: async (terminal: RemoteEvent): Promise<true | string | typeof TAKEN_OVER> => {
        clearInterval(timer);
        const event = terminal.event as unknown as Record<string, unknown>;
        try {
          previews.stop();
          await record.finish(() => summary({ terminal: event }), () => previews.written);
          if (!(await stillOurs())) {
            note(`run ${run.runId}: taken over by another attempt (its lock is no longer this worker's): its final upload is skipped; the directory stays in ${outDir}`);
            return TAKEN_OVER;
          }
          // A short outage (the service restarting) is outlasted: 3 tries, after 1 s and 4 s.
          await sync.finish(UPLOAD_RETRY, (error, nextTry, delayMs) => note(`run ${run.runId}: uploading its directory failed (${(error as Error).message}); try ${nextTry} of ${UPLOAD_RETRY.tries} in ${delayMs / 1000} s`));
          note(`run ${run.runId}: stored in ${store.where}`);
          return true;
        } catch (error) {
          const why = `the run ended ${String(event.type).replace('run:', '')}, but its directory could not be stored in ${store.where} (${(error as Error).message}); it is kept on worker ${this.name} in ${outDir}`;
          note(`run ${run.runId}: ${why}`);
          await record.update(() => summary({ terminal: event, error: why })).catch(() => undefined); // the local record says why, when the disk lets it
          return why;
        }
      },
    };
  }
}
