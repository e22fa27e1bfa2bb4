import { dirname } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { Observable, type Subscriber } from 'rxjs';
import { isTerminalEvent, type ExecutionEvent } from '../engine/events.ts';
import type { Logger } from '../services/Logger.ts';
import type { RunBackend, RunExecution } from '../server/RunBackend.ts';
import { connectRedis } from './connectRedis.ts';
import { CANCEL_CHANNEL, CANCELLED_KEY, EVENTS_CHANNEL, QUEUE_NAME } from './names.ts';
import { parseRemoteMessage, terminalOfResult, type RemoteEvent } from './remoteMessage.ts';
import type { RedisConnection } from './redisUrl.ts';
import { runJobOf } from './RunJob.ts';
import { ensureRunsDirMarker } from './runsDirMarker.ts';

/** Runs the server hands to Redis at once: the workers' own concurrency is what limits execution. */
const CAPACITY = 100_000;
/** How long a cancellation mark waits for a worker to pick its job up. */
const CANCELLED_TTL_S = 7 * 24 * 3600;
/** How long the events of a completed job may trail its completion (two Redis connections). */
const COMPLETED_GRACE_MS = 2000;
/** Finished jobs kept in Redis (their records are in the run directories). */
const KEEP_JOBS = 1000;

interface RemoteRun {
  readonly runId: string;
  readonly subscriber: Subscriber<ExecutionEvent>;
  readonly startedAt: number;
  /** The worker execution whose events are taken; a takeover (a new run:start) replaces it. */
  attempt?: string;
  /** Events passed on: the run's `seq`, continuous across takeovers. */
  seq: number;
  ended: boolean;
  readonly refusals: Set<string>;
}

/** After a refusal, when the server promotes the job if it is still delayed (the refusal delay is 2 s). */
const PROMOTE_AFTER_MS = 3000;

/**
 * The {@link RunBackend} of `tessera serve --queue`: each run becomes a BullMQ job (a
 * {@link RunJob}: data, no code), and its events come back from the worker that runs it through
 * Redis pub/sub. The server's RunQueue records and broadcasts them as for a local run.
 *
 * A job that a worker gave up (the worker died: BullMQ's stalled-job check hands it to another)
 * restarts from scratch: the new worker's run:start replaces the earlier attempt, whose late
 * events are dropped, so the run ends, and is recorded, once. A job BullMQ fails (a rejected
 * payload, a job stalled too often) ends its run failed with BullMQ's reason.
 */
export class RedisRunBackend implements RunBackend {
  readonly capacity = CAPACITY;
  readonly remote = true;
  readonly #queue: Queue;
  readonly #queueEvents: QueueEvents;
  readonly #sub: Redis;
  readonly #pub: Redis;
  readonly #engineVersion: string;
  readonly #logger: Logger;
  /** `s3://bucket/prefix` when the workers upload runs there instead of writing into the shared runs folder. */
  readonly #artifacts: string | undefined;
  readonly #runs = new Map<string, RemoteRun>();
  /** Marker reads in progress, by runs folder. */
  readonly #markers = new Map<string, Promise<string>>();
  #closed: Promise<void> | undefined;

  private constructor(connection: RedisConnection, sub: Redis, pub: Redis, engineVersion: string, logger: Logger, artifacts: string | undefined) {
    this.#queue = new Queue(QUEUE_NAME, { connection });
    this.#queueEvents = new QueueEvents(QUEUE_NAME, { connection });
    this.#sub = sub;
    this.#pub = pub;
    this.#engineVersion = engineVersion;
    this.#logger = logger;
    this.#artifacts = artifacts;
    this.#queue.on('error', (error) => logger.warn(`redis queue: ${error.message}`));
    this.#queueEvents.on('error', (error) => logger.warn(`redis queue events: ${error.message}`));
    this.#queueEvents.on('failed', ({ jobId, failedReason }) => this.#failed(jobId, failedReason));
    this.#queueEvents.on('completed', ({ jobId }) => this.#completed(jobId));
    sub.on('message', (channel, text) => {
      if (channel === EVENTS_CHANNEL) this.#message(text);
    });
  }

  /** Connects (failing fast when Redis cannot be reached) and listens for the workers' events. */
  static async connect(connection: RedisConnection, options: { engineVersion: string; logger: Logger; artifacts?: string }): Promise<RedisRunBackend> {
    const sub = await connectRedis(connection);
    const pub = await connectRedis(connection).catch((error: unknown) => {
      sub.disconnect();
      throw error;
    });
    await sub.subscribe(EVENTS_CHANNEL);
    const backend = new RedisRunBackend(connection, sub, pub, options.engineVersion, options.logger, options.artifacts);
    await Promise.all([backend.#queue.waitUntilReady(), backend.#queueEvents.waitUntilReady()]);
    return backend;
  }

  execute(run: RunExecution): Observable<ExecutionEvent> {
    return new Observable<ExecutionEvent>((subscriber) => {
      const r: RemoteRun = { runId: run.runId, subscriber, startedAt: Date.now(), seq: 0, ended: false, refusals: new Set() };
      this.#runs.set(run.runId, r);
      const onAbort = () => void this.#cancel(r).catch((error: unknown) => this.#logger.warn(`run ${r.runId}: cancelling through Redis failed (${(error as Error).message})`));
      run.signal.addEventListener('abort', onAbort, { once: true });
      // jobId = runId: the same run can never be queued twice.
      // With object storage there is no shared folder to mark: the job names the store instead.
      const where = this.#artifacts !== undefined ? Promise.resolve({ artifacts: this.#artifacts }) : this.#marker(dirname(run.outDir)).then((runsDirId) => ({ runsDirId }));
      where
        .then((w) => this.#queue.add('run', runJobOf(run, this.#engineVersion, w), { jobId: run.runId, attempts: 1, removeOnComplete: { count: KEEP_JOBS }, removeOnFail: { count: KEEP_JOBS } }))
        .then(() => {
          if (run.signal.aborted) onAbort();
        })
        .catch((error: unknown) => this.#fail(r, 'QueueError', `the run could not be queued in Redis: ${(error as Error).message}`));
      return () => {
        run.signal.removeEventListener('abort', onAbort);
        this.#runs.delete(run.runId);
      };
    });
  }

  /**
   * The id of a runs folder (its marker, written on first use), which jobs carry to the workers.
   * Read again for each run, not kept: a marker that changed (a folder emptied and reused) is
   * what the workers read too. Runs queued together share one pending read.
   */
  #marker(runsDir: string): Promise<string> {
    let id = this.#markers.get(runsDir);
    if (!id) {
      id = ensureRunsDirMarker(runsDir).finally(() => this.#markers.delete(runsDir));
      this.#markers.set(runsDir, id);
    }
    return id;
  }

  async close(): Promise<void> {
    this.#closed ??= (async () => {
      for (const r of this.#runs.values()) if (!r.ended) r.subscriber.complete();
      this.#runs.clear();
      await Promise.allSettled([this.#queueEvents.close(), this.#queue.close(), this.#sub.quit(), this.#pub.quit()]);
    })();
    return this.#closed;
  }

  /**
   * A refused job waits in BullMQ's delayed set for a few seconds. Workers promote due delayed
   * jobs themselves, but we saw one stay delayed for over a minute while a capable worker was
   * idle; so the server promotes it too, once its delay is past.
   */
  #promoteLater(r: RemoteRun): void {
    const timer = setTimeout(() => {
      if (r.ended) return;
      void this.#queue
        .getJob(r.runId)
        .then(async (job) => {
          if (job && (await job.isDelayed())) await job.promote();
        })
        .catch(() => undefined); // already promoted or taken: nothing to do
    }, PROMOTE_AFTER_MS);
    timer.unref();
  }

  /** Ends a run failed for a reason of the queue, not of a node. */
  #fail(r: RemoteRun, name: string, message: string): void {
    const ms = Date.now() - r.startedAt;
    this.#end(r, { type: 'run:failed', runId: r.runId, seq: r.seq, t: ms, durationMs: ms, errors: [{ nodeId: '', nodeType: '', name, message }] });
  }

  #message(text: string): void {
    const m = parseRemoteMessage(text);
    const r = m && this.#runs.get(m.runId);
    if (!m || !r || r.ended) return;
    if ('refused' in m) {
      // Text from Redis goes into the log: one bounded, quoted line.
      const note = `${JSON.stringify(m.worker.slice(0, 100))}: ${JSON.stringify(m.refused.slice(0, 300))}`;
      if (!r.refusals.has(note)) {
        r.refusals.add(note);
        this.#logger.warn(`run ${r.runId} was refused by worker ${note}; it waits for a worker that can run it`);
      }
      this.#promoteLater(r);
      return;
    }
    this.#event(r, m);
  }

  #event(r: RemoteRun, m: RemoteEvent): void {
    if (r.attempt !== m.attempt) {
      // Only a fresh start replaces the attempt: late events of a worker that lost its job are dropped.
      if (m.event.type !== 'run:start') return;
      if (r.attempt !== undefined) this.#logger.warn(`run ${r.runId}: restarted from scratch on worker ${m.worker} (the earlier worker stopped holding it)`);
      r.attempt = m.attempt;
    }
    // The envelope's run id was checked; an event claiming another run is filed under this one.
    const event = { ...m.event, runId: r.runId, seq: r.seq } as unknown as ExecutionEvent;
    if (isTerminalEvent(event)) this.#end(r, event);
    else {
      r.seq++;
      r.subscriber.next(event);
    }
  }

  #end(r: RemoteRun, event: ExecutionEvent): void {
    if (r.ended) return;
    r.ended = true;
    r.subscriber.next({ ...event, seq: r.seq++ } as ExecutionEvent);
    r.subscriber.complete();
  }

  #failed(jobId: string, reason: string): void {
    const r = this.#runs.get(jobId);
    if (!r || r.ended) return;
    this.#fail(r, 'WorkerError', reason);
  }

  /**
   * The worker published the run's last event before completing its job, so the run has
   * normally ended here already; if pub/sub lost it (Redis restarted, a dropped connection), the
   * run ends with the copy in the job's result, or failed (LostEvents) when there is none,
   * rather than show `running` forever.
   */
  #completed(jobId: string): void {
    const r = this.#runs.get(jobId);
    if (!r || r.ended) return;
    setTimeout(() => {
      if (r.ended) return;
      // The job's result holds the last event (the worker returns it): the run ends with it.
      void this.#queue
        .getJob(jobId)
        .then((job) => terminalOfResult(job?.returnvalue, r.runId))
        .catch(() => undefined)
        .then((m) => {
          if (r.ended) return;
          if (m) {
            this.#logger.warn(`run ${r.runId}: events were lost on the way from worker ${JSON.stringify(m.worker.slice(0, 100))} (Redis restarted or a connection dropped); the run ends with the last event its job kept`);
            this.#end(r, { ...m.event, runId: r.runId, seq: r.seq } as unknown as ExecutionEvent);
          } else this.#fail(r, 'LostEvents', "the worker finished the job, but the run's last events did not arrive through Redis; its artifacts may be complete");
        });
    }, COMPLETED_GRACE_MS).unref();
  }

  /**
   * A job still waiting is removed; one a worker holds (or is about to take) is marked, and
   * the workers are told, so the holder aborts it (its run:cancelled ends the run here).
   */
  async #cancel(r: RemoteRun): Promise<void> {
    if (r.ended) return;
    await this.#pub.set(CANCELLED_KEY + r.runId, '1', 'EX', CANCELLED_TTL_S);
    const job = await this.#queue.getJob(r.runId);
    const state = job ? await job.getState() : 'unknown';
    if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized')) {
      try {
        await job.remove();
        this.#end(r, { type: 'run:cancelled', runId: r.runId, seq: r.seq, t: Date.now() - r.startedAt, durationMs: Date.now() - r.startedAt });
        return;
      } catch {
        // A worker took it meanwhile: it sees the mark or the message below.
      }
    }
    await this.#pub.publish(CANCEL_CHANNEL, JSON.stringify({ runId: r.runId }));
  }
}
