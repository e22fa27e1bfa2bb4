import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Observable } from 'rxjs';
import { createEngine, createLogger, type Engine } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import type { GraphDocument } from '../../core/graph/GraphDocument.ts';
import { isTerminalEvent, type ExecutionEvent } from '../../core/engine/events.ts';
import { QUEUE_NAME } from '../../core/queue/names.ts';
import { runJobOf } from '../../core/queue/RunJob.ts';
import { RunWorker } from '../../core/queue/RunWorker.ts';
import { parseRedisUrl } from '../../core/queue/redisUrl.ts';
import { openArtifactStore } from '../../core/storage/openArtifactStore.ts';
import type { S3ArtifactStore } from '../../core/storage/S3ArtifactStore.ts';
import { createAjv } from '../../core/util/createAjv.ts';
import { ENGINE_API_VERSION } from '../../core/version.ts';
import { graph, tempWorkspace, waitUntil } from '../server/helpers.ts';
import { startRedis, type RedisServer } from './redisServer.ts';
import { startS3, useS3Env, type S3Server } from './s3Server.ts';

// A worker with --artifacts whose run ends with an error instead of a terminal event (what an
// engine fault or a failed Redis publish does to RunWorker): the run's directory is still stored,
// ended failed with the reason, and events.jsonl is closed (no file handle left open). And an
// attempt whose job lock is gone (taken over) does not store its run.json over the new attempt's.

let redis: RedisServer;
let s3: S3Server;
let engine: Engine;
let store: S3ArtifactStore;
let restoreEnv = () => {};

test.before(async () => {
  redis = await startRedis();
  s3 = await startS3();
  restoreEnv = useS3Env(s3);
  engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => undefined) });
  const opened = await openArtifactStore({ url: `s3://${s3.bucket}/fail`, endpoint: s3.endpoint });
  if (typeof opened === 'string') throw new Error(opened);
  store = opened;
});

test.after(async () => {
  await redis?.stop();
  await s3?.stop();
  restoreEnv();
});

/** The files this process holds open. */
function openFiles(): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [readlinkSync(join('/proc/self/fd', fd))];
    } catch {
      return [];
    }
  });
}

test('a run that errors before its end is stored failed with the reason; events.jsonl is closed', async () => {
  // The real engine's run, erroring where its terminal event would come.
  const faulty = Object.create(engine) as Engine;
  faulty.run = ((doc: GraphDocument, options: Parameters<Engine['run']>[1]) =>
    new Observable<ExecutionEvent>((sub) => {
      const inner = engine.run(doc, options).subscribe({
        next: (e) => (isTerminalEvent(e) ? sub.error(new Error('the engine broke down')) : sub.next(e)),
        error: (e) => sub.error(e),
        complete: () => sub.complete(),
      });
      return () => inner.unsubscribe();
    })) as Engine['run'];
  const runsDir = tempWorkspace('tessera-s3-fail-');
  const notes: string[] = [];
  const worker = await RunWorker.start({ connection: parseRedisUrl(redis.url), engine: faulty, engineVersion: ENGINE_API_VERSION, runsDir, artifacts: store, artifactsSyncMs: 0, lockMs: 2000, onNote: (l) => notes.push(l) });
  const queue = new Queue(QUEUE_NAME, { connection: parseRedisUrl(redis.url) });
  try {
    const id = '20261208-151515-000-abcdef';
    const doc = graph({ a: { type: 'core/Number', params: { value: 2 } } }) as unknown as GraphDocument;
    await queue.add('run', runJobOf({ runId: id, graph: doc }, ENGINE_API_VERSION, { artifacts: store.where }), { jobId: id, attempts: 1 });
    await waitUntil(async () => (await queue.getJob(id))?.failedReason !== undefined, 20_000);
    assert.is((await queue.getJob(id))!.failedReason, 'the engine broke down');
    const files = (await store.listFiles(id)).map((f) => f.path).sort();
    assert.equal(files.filter((p) => ['events.jsonl', 'graph.json', 'run.json'].includes(p)), ['events.jsonl', 'graph.json', 'run.json'], notes.join('\n'));
    const record = JSON.parse(await text((await store.open(id, 'run.json'))!.body)) as { status: string; error?: string; attempt?: string; worker?: string };
    assert.is(record.status, 'failed');
    assert.match(record.attempt ?? '', /^[0-9a-f]{16}$/);
    assert.is(record.worker, worker.name);
    assert.match(record.error ?? JSON.stringify(record), /the engine broke down/);
    const eventsFile = join(runsDir, id, 'events.jsonl');
    await waitUntil(async () => !openFiles().includes(eventsFile), 5000);
  } finally {
    await queue.close();
    await worker.close();
  }
});

test('an attempt that lost the job\'s lock (another may have taken the run over) skips its final upload', async () => {
  const runsDir = tempWorkspace('tessera-s3-fenced-');
  const notes: string[] = [];
  const worker = await RunWorker.start({ connection: parseRedisUrl(redis.url), engine, engineVersion: ENGINE_API_VERSION, runsDir, artifacts: store, artifactsSyncMs: 0, lockMs: 30_000, onNote: (l) => notes.push(l) });
  const queue = new Queue(QUEUE_NAME, { connection: parseRedisUrl(redis.url) });
  const client = new Redis(parseRedisUrl(redis.url));
  try {
    const id = '20261208-161616-000-abcdef';
    const doc = graph({ d: { type: 'core/Delay', params: { ms: 1500, steps: 3 } } }) as unknown as GraphDocument;
    await queue.add('run', runJobOf({ runId: id, graph: doc }, ENGINE_API_VERSION, { artifacts: store.where }), { jobId: id, attempts: 1 });
    await waitUntil(async () => notes.some((n) => n.startsWith(`run ${id}: started`)), 20_000);
    // What a lock that expired while this worker stalled looks like: its key is gone (BullMQ
    // renews only a lock that still holds this attempt's token).
    assert.is(await client.del(`bull:${QUEUE_NAME}:${id}:lock`), 1);
    await waitUntil(async () => notes.some((n) => n.startsWith(`run ${id}: taken over`)), 20_000);
    assert.equal((await store.listFiles(id)).map((f) => f.path).filter((p) => p === 'run.json'), [], notes.join('\n'));
    // Its directory stays whole on this machine, its record naming the attempt.
    const local = JSON.parse(readFileSync(join(runsDir, id, 'run.json'), 'utf8')) as { status: string; attempt?: string };
    assert.is(local.status, 'done');
    assert.match(local.attempt ?? '', /^[0-9a-f]{16}$/);
    const validate = createAjv().compile(JSON.parse(readFileSync(new URL('../../schemas/run-record.schema.json', import.meta.url), 'utf8')) as object);
    assert.ok(validate(local), JSON.stringify(validate.errors));
  } finally {
    client.disconnect();
    await queue.close();
    await worker.close();
  }
});

test.run();
