import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { createEngine, createLogger, type Engine } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { createServer } from '../../core/server/createServer.ts';
import { openArtifactStore } from '../../core/storage/openArtifactStore.ts';
import type { S3ArtifactStore } from '../../core/storage/S3ArtifactStore.ts';
import { sweepCommand } from '../../core/sweep/sweepCommand.ts';
import { call, tempWorkspace } from '../server/helpers.ts';
import { startRedis, type RedisServer } from './redisServer.ts';
import { startS3, useS3Env, type S3Server } from './s3Server.ts';
import { captureIo, runOnce, sweepGraph, writeGraph } from './sweepSupport.ts';
import { spawnWorker, stopWorker, type WorkerProcess } from './workers.ts';

// `tessera sweep --queue … --artifacts s3://…`: a real redis-server, s3rver and a worker process
// with its own runs folder (nothing shared): the jobs name the bucket, the worker uploads the
// runs, the sweep's table goes to <prefix>/sweeps/<id>/, and a server reading the bucket lists it.

let redis: RedisServer;
let s3: S3Server;
let engine: Engine;
let store: S3ArtifactStore;
let worker: WorkerProcess | undefined;
const PREFIX = 'sweeps-test';
let restoreEnv = () => {};

test.before(async () => {
  [redis, s3] = await Promise.all([startRedis(), startS3()]);
  restoreEnv = useS3Env(s3);
  engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => undefined) });
  const opened = await openArtifactStore({ url: `s3://${s3.bucket}/${PREFIX}`, endpoint: s3.endpoint });
  if (typeof opened === 'string') throw new Error(opened);
  store = opened;
});

test.after(async () => {
  if (worker) await stopWorker(worker);
  await redis?.stop();
  await s3?.stop();
  restoreEnv();
});

test('sweep --queue --artifacts: the runs go to an S3 worker and into the bucket, with results equal to runs alone; the table too', async () => {
  const ws = tempWorkspace('tessera-s3-sweep-worker-');
  worker = spawnWorker(redis.url, ws, ['--runs-dir', join(ws, 'runs'), '--lock-ms', '1000', '--artifacts', `s3://${s3.bucket}/${PREFIX}`, '--s3-endpoint', s3.endpoint, '--artifacts-sync-s', '0'], [], s3.env);
  await worker.ready;
  const dir = tempWorkspace('tessera-s3-sweep-');
  const file = writeGraph(dir, sweepGraph(10, 2));
  const out = join(dir, 'out');
  const { io, text: printed } = captureIo();
  const code = await sweepCommand(file, { grid: ['b.value=5,50'], seeds: '1', out, queue: redis.url, artifacts: `s3://${s3.bucket}/${PREFIX}`, s3Endpoint: s3.endpoint, engine }, io);
  assert.is(code, 0, printed() + worker.output);
  assert.match(printed(), `start workers with --artifacts s3://${s3.bucket}/${PREFIX}`);
  const table = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
  assert.equal(table.counts, { done: 2 });
  assert.match(table.id, /^\d{8}-\d{6}-\d{3}-[0-9a-f]{6}$/);
  for (const row of table.rows) {
    // Each run's results equal the same cell run alone, and the run is whole in the bucket.
    const expected = await runOnce(engine, { ...sweepGraph(10, 2), nodes: { ...(sweepGraph(10, 2).nodes as object), b: { type: 'core/Number', params: { value: row.params[0].value } } } }, row.seed);
    assert.equal(row.outputs['sum.result'], (expected.sum as { result: number }).result);
    assert.ok((await store.listFiles(row.runId)).some((f) => f.path === 'run.json'), row.runId);
    assert.match(worker.output, `run ${row.runId}: stored in`);
  }
  // The table in the bucket is the one written here, byte for byte.
  const stored = await store.openSweepFile(table.id, 'sweep.json');
  assert.ok(stored, printed());
  assert.is(await text(stored!.body), readFileSync(join(out, 'sweep.json'), 'utf8'));
  assert.match(printed(), `table stored in s3://${s3.bucket}/${PREFIX}/sweeps/${table.id}/`);
  // A server reading the bucket (nothing local) lists the sweep and its runs.
  const reader = await createServer({ engine, host: '127.0.0.1', port: 0, ui: false, workspace: tempWorkspace('tessera-s3-sweep-reader-'), artifacts: store }).listen();
  try {
    const sweeps = (await call(reader.url, 'GET', '/api/sweeps')).json.sweeps as any[];
    const found = sweeps.find((s) => s.id === table.id);
    assert.ok(found, JSON.stringify(sweeps));
    assert.is(found.state, 'ended');
    assert.equal(found.counts, { done: 2 });
    const detail = await call(reader.url, 'GET', `/api/sweeps/${table.id}`);
    assert.equal(detail.json.table, table);
    for (const row of table.rows) assert.is((await call(reader.url, 'GET', `/api/runs/${row.runId}`)).json.status, 'done');
  } finally {
    await reader.close();
  }
  // Run again (a resume): every row done, nothing rerun, the same sweep id in the bucket.
  const again = captureIo();
  assert.is(await sweepCommand(file, { grid: ['b.value=5,50'], seeds: '1', out, queue: redis.url, artifacts: `s3://${s3.bucket}/${PREFIX}`, s3Endpoint: s3.endpoint, engine }, again.io), 0, again.text());
  assert.is(JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')).id, table.id);
});

test('sweep --artifacts without --queue, and a bad --artifacts URL, exit 2 with the reason', async () => {
  const dir = tempWorkspace('tessera-s3-sweep-bad-');
  const file = writeGraph(dir, sweepGraph(10, 2));
  const a = captureIo();
  assert.is(await sweepCommand(file, { grid: ['b.value=1'], artifacts: `s3://${s3.bucket}/x`, engine }, a.io), 2);
  assert.match(a.text(), '--artifacts goes with --queue');
  const b = captureIo();
  assert.is(await sweepCommand(file, { grid: ['b.value=1'], queue: redis.url, artifacts: `s3://${s3.bucket}/a/../b`, s3Endpoint: s3.endpoint, engine }, b.io), 2);
  assert.match(b.text(), '".." segment');
});

test.run();
