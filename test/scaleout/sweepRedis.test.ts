import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { createEngine, createLogger, type Engine } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { sweepCommand } from '../../core/sweep/sweepCommand.ts';
import { parseRedisUrl } from '../../core/queue/redisUrl.ts';
import { QUEUE_NAME } from '../../core/queue/names.ts';
import { lastEvent } from '../../core/records/readEvents.ts';
import { RedisRunBackend } from '../../core/queue/RedisRunBackend.ts';
import { queueTarget } from '../../core/sweep/queueTarget.ts';
import { ENGINE_API_VERSION } from '../../core/version.ts';
import type { GraphDocument } from '../../core/graph/GraphDocument.ts';
import { tempWorkspace, waitUntil } from '../server/helpers.ts';
import { startRedis, type RedisServer } from './redisServer.ts';
import { spawnWorker, stopWorker, type WorkerProcess } from './workers.ts';
import { captureIo, runOnce, sweepGraph, writeGraph } from './sweepSupport.ts';

// `tessera sweep --queue`: a real redis-server (AOF, fsync always), three real `tessera worker`
// processes, the sweep in this process. Workers use a 5 s lock: a Redis restart must not look
// like a dead worker.

let redis: RedisServer;
let engine: Engine;
let workspace: string;
let runsDir: string;
const workers: WorkerProcess[] = [];

function worker(dir = runsDir): WorkerProcess {
  const w = spawnWorker(redis.url, workspace, ['--runs-dir', dir, '--lock-ms', '5000']);
  workers.push(w);
  return w;
}

const startedBy = (w: WorkerProcess) => [...w.output.matchAll(/run (\S+): started/g)].map((m) => m[1]!);
const readTable = (out: string) => JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));

/** Every row done, with the results (and the scalar outputs) of the same cell run alone in this process. */
async function assertSameAsOneByOne(out: string, delayMs: number): Promise<void> {
  const table = readTable(out);
  for (const row of table.rows) {
    assert.is(row.status, 'done', JSON.stringify(row));
    const cell = JSON.parse(JSON.stringify(sweepGraph(delayMs)));
    cell.nodes.b.params.value = row.params[0].value;
    const reference = await runOnce(engine, cell, row.seed);
    assert.equal((await lastEvent(join(runsDir, row.runId, 'events.jsonl')))?.results, reference);
    // core/Add's port is `sum`: the table's column is `sum.sum` (a number, so this cannot pass on two undefineds).
    assert.type(row.outputs['sum.sum'], 'number');
    assert.is(row.outputs['sum.sum'], (reference.sum as { sum: number }).sum);
  }
}

test.before(async () => {
  redis = await startRedis();
  engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => undefined) });
  workspace = tempWorkspace('tessera-sweep-redis-');
  runsDir = join(workspace, 'runs');
});

test.after(async () => {
  await Promise.allSettled(workers.map(stopWorker));
  await redis?.stop();
});

test("a run whose events pub/sub lost ends with the last event its completed job kept (or failed without one)", async () => {
  // A BullMQ worker that completes jobs without publishing anything stands for events lost
  // while Redis restarted: only the job's result (kept by Redis) tells how the run ended.
  const done = { type: 'run:done', seq: 9, t: 5, durationMs: 5, results: { sum: { result: 42 } } };
  let keep = true;
  const silent = new Worker(QUEUE_NAME, async (job) => ({ status: 'run:done', ...(keep ? { terminal: { runId: job.id, attempt: 'a1', worker: 'silent', event: { ...done, runId: job.id } } } : {}) }), { connection: parseRedisUrl(redis.url) });
  const backend = await RedisRunBackend.connect(parseRedisUrl(redis.url), { engineVersion: ENGINE_API_VERSION, logger: engine.logger });
  const target = queueTarget({ engine, runsDir: join(workspace, 'silent'), concurrency: 1, backend, where: 'redis' });
  try {
    const g = sweepGraph(10) as unknown as GraphDocument;
    const kept = await target.wait(await target.submit({ graph: g, seed: 1, label: 'kept' }));
    assert.is(kept.status, 'done');
    assert.equal(kept.results, { sum: { result: 42 } });
    keep = false;
    const lost = await target.wait(await target.submit({ graph: g, seed: 1, label: 'lost' }));
    assert.is(lost.status, 'failed');
    assert.match(lost.errors?.[0]?.name ?? '', /LostEvents/);
  } finally {
    await target.close();
    await silent.close();
  }
});

test("a worker whose runs folder is not the server's refuses the job; workers on the shared folder run it", async () => {
  const stray = worker(join(workspace, 'elsewhere'));
  await stray.ready;
  const file = writeGraph(workspace, sweepGraph(50), 'one.json');
  const out = join(workspace, 'one');
  const { io, text } = captureIo();
  const sweep = sweepCommand(file, { grid: ['b.value=1'], seeds: '3', out, runsDir, queue: redis.url, concurrency: 1, engine }, io);
  const queue = new Queue(QUEUE_NAME, { connection: parseRedisUrl(redis.url) });
  try {
    let id = '';
    await waitUntil(async () => !!(id = (() => { try { return readTable(out).rows[0]?.runId ?? ''; } catch { return ''; } })()), 20_000);
    await waitUntil(async () => (await queue.getJobLogs(id)).logs.some((l) => l.includes("is not the server's shared runs folder")), 20_000);
    assert.match(readFileSync(join(runsDir, '.tessera-runs-id'), 'utf8'), /^[0-9a-f]{32}\n$/);
    const good = [worker(), worker(), worker()];
    await Promise.all(good.map((w) => w.ready));
    assert.is(await sweep, 0, text());
    assert.not.ok(startedBy(stray).includes(id), stray.output);
    assert.ok(good.some((w) => startedBy(w).includes(id)));
  } finally {
    await queue.close();
    await stopWorker(stray);
  }
});

test('a sweep of 6 runs through Redis on 3 workers gives the results of the runs one by one', async () => {
  const file = writeGraph(workspace, sweepGraph(600), 'six.json');
  const out = join(workspace, 'six');
  const { io, text } = captureIo();
  assert.is(await sweepCommand(file, { grid: ['b.value=5,50'], seeds: '0,1,2', out, runsDir, queue: redis.url, concurrency: 1, engine }, io), 0, text());
  const table = readTable(out);
  assert.is(table.rows.length, 6);
  assert.match(table.where, /^redis 127\.0\.0\.1:\d+$/);
  await assertSameAsOneByOne(out, 600);
  const ids: string[] = table.rows.map((r: { runId: string }) => r.runId);
  const used = workers.filter((w) => startedBy(w).some((id) => ids.includes(id)));
  assert.ok(used.length >= 2, `only ${used.length} worker(s) ran the runs`);
});

test('a Redis restart (kill -9, AOF) in mid-sweep loses no job: the sweep finishes with every result', async () => {
  const file = writeGraph(workspace, sweepGraph(2500, 25), 'restart.json');
  const out = join(workspace, 'restart');
  const { io, text } = captureIo();
  const sweep = sweepCommand(file, { grid: ['b.value=7,70'], seeds: '4,5,6', out, runsDir, queue: redis.url, concurrency: 1, engine }, io);
  // Restart while runs are in the workers' hands and others still wait in the queue.
  await waitUntil(async () => {
    try {
      const ids = readTable(out).rows.map((r: { runId?: string }) => r.runId).filter(Boolean);
      return ids.length === 6 && workers.filter((w) => startedBy(w).some((id) => ids.includes(id))).length >= 2;
    } catch {
      return false;
    }
  }, 30_000);
  await redis.restart();
  assert.is(await sweep, 0, text());
  await assertSameAsOneByOne(out, 2500);
  assert.equal(readTable(out).counts, { done: 6 });
});

test.run();
