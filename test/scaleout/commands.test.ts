import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { createEngine, createLogger, type Engine } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { serveCommand } from '../../core/server/serveCommand.ts';
import { workerCommand } from '../../core/queue/workerCommand.ts';
import { RunWorker } from '../../core/queue/RunWorker.ts';
import { parseRedisUrl } from '../../core/queue/redisUrl.ts';
import { ENGINE_API_VERSION } from '../../core/version.ts';
import { call, graph, tempWorkspace, waitForRun, waitUntil } from '../server/helpers.ts';
import { freePort, startRedis, type RedisServer } from './redisServer.ts';

// `serve --queue` and `worker` as the CLI runs them (a worker in this process here; the worker
// processes are in scaleout.test.ts), and cancellation of remote runs.

let redis: RedisServer;
let engine: Engine;
let out = '';
const sink = { write: (chunk: string | Uint8Array) => ((out += String(chunk)), true) } as unknown as NodeJS.WritableStream;
const io = { stdout: sink, stderr: sink };

test.before(async () => {
  redis = await startRedis();
  engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => undefined) });
});

test.after(async () => {
  await redis?.stop();
});

test('bad or unreachable --queue URLs are refused with exit 2', async () => {
  const closed = `redis://127.0.0.1:${await freePort()}`;
  const base = { host: '127.0.0.1', port: 0, concurrency: 1, workspace: tempWorkspace(), engine };
  out = '';
  assert.is(await serveCommand({ ...base, queue: 'http://127.0.0.1:6379' }, io), 2);
  assert.match(out, /--queue must be a redis:\/\/ or rediss:\/\/ URL/);
  assert.is(await serveCommand({ ...base, queue: closed }, io), 2);
  assert.match(out, /cannot reach Redis at 127\.0\.0\.1:\d+/);
  const worker = { concurrency: 1, runsDir: tempWorkspace(), lockMs: 30_000, engine };
  out = '';
  assert.is(await workerCommand({ ...worker, queue: 'redis://127.0.0.1:1/db' }, io), 2);
  assert.match(out, /path must be a database number/);
  assert.is(await workerCommand({ ...worker, queue: closed }, io), 2);
  assert.match(out, /cannot reach Redis/);
  assert.is(await workerCommand({ ...worker, queue: redis.url, concurrency: 0 }, io), 2);
  // Past Node's longest timer (2^31-1 ms) setInterval would fire every 1 ms: refused.
  out = '';
  assert.is(await workerCommand({ ...worker, queue: redis.url, artifactsSyncS: 2_147_484 }, io), 2);
  assert.match(out, /--artifacts-sync-s must be a number of seconds from 0 \(only when a run ends\) to 2147483/);
  assert.is(await workerCommand({ ...worker, queue: redis.url, artifactsSyncS: -1 }, io), 2);
});

test('serve --queue runs graphs on a worker, and cancels queued and running remote runs', async () => {
  const workspace = tempWorkspace();
  const runsDir = join(workspace, 'runs');
  let stop!: () => void;
  out = '';
  const served = serveCommand({ host: '127.0.0.1', port: 0, concurrency: 1, workspace, engine, queue: redis.url, stop: new Promise<void>((r) => (stop = r)) }, io);
  let url: string | undefined;
  await waitUntil(async () => !!(url = /serving (http:\/\/\S+)/.exec(out)?.[1]), 60_000);
  assert.match(out, /queue {5}redis 127\.0\.0\.1:\d+/);
  const slow = graph({ d: { type: 'core/Delay', params: { ms: 20_000, steps: 200 } } });
  // No worker yet: the run waits in Redis, and cancelling removes its job.
  const waiting = (await call(url!, 'POST', '/api/runs', { body: { graph: slow } })).json.run.id as string;
  assert.is((await call(url!, 'POST', `/api/runs/${waiting}/cancel`)).status, 202);
  assert.is((await waitForRun(url!, waiting, {}, 10_000)).status, 'cancelled');
  const worker = await RunWorker.start({ connection: parseRedisUrl(redis.url), engine, engineVersion: ENGINE_API_VERSION, runsDir, lockMs: 2000 });
  try {
    const quick = graph({ a: { type: 'core/Number', params: { value: 2 } }, s: { type: 'core/Add', inputs: { a: { node: 'a', output: 'value' }, b: { node: 'a', output: 'value' } } } });
    const id = (await call(url!, 'POST', '/api/runs', { body: { graph: quick } })).json.run.id as string;
    assert.is((await waitForRun(url!, id, {}, 20_000)).status, 'done');
    // A running remote run: the worker holding it aborts it.
    const running = (await call(url!, 'POST', '/api/runs', { body: { graph: slow } })).json.run.id as string;
    await waitUntil(async () => (await call(url!, 'GET', `/api/runs/${running}`)).json.nodes.d?.state === 'running', 20_000);
    assert.is((await call(url!, 'POST', `/api/runs/${running}/cancel`)).status, 202);
    assert.is((await waitForRun(url!, running, {}, 10_000)).status, 'cancelled');
    assert.is(worker.running, 0);
  } finally {
    await worker.close();
  }
  stop();
  assert.is(await served, 0);
});

test.run();
