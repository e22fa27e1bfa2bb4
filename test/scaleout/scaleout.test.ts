import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { createEngine, createLogger, type Engine } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { discoverPlugins } from '../../core/loader/discoverPlugins.ts';
import { loadPlugins } from '../../core/loader/loadPlugins.ts';
import { createServer, type TesseraServer } from '../../core/server/createServer.ts';
import { RedisRunBackend } from '../../core/queue/RedisRunBackend.ts';
import { parseRedisUrl } from '../../core/queue/redisUrl.ts';
import { QUEUE_NAME } from '../../core/queue/names.ts';
import { ENGINE_API_VERSION } from '../../core/version.ts';
import { toWireValue } from '../../core/util/summarizeValue.ts';
import { call, graph, tempWorkspace, TestSocket, waitForRun, waitUntil } from '../server/helpers.ts';
import { startRedis, type RedisServer } from './redisServer.ts';
import { spawnWorker, stopWorker, type WorkerProcess } from './workers.ts';

// Real redis-server, real `tessera worker` processes, a real server on loopback. Workers use a
// short lock (1 s) so a killed worker's job is taken over quickly.

const GOOD_PLUGIN = fileURLToPath(new URL('../fixtures/plugins/good', import.meta.url));
const LOCK = ['--lock-ms', '1000'];

let redis: RedisServer;
let engine: Engine;
let server: TesseraServer;
let base: string;
let workspace: string;
let runsDir: string;
const workers: WorkerProcess[] = [];

function worker(args: readonly string[] = [], global: readonly string[] = []): WorkerProcess {
  const w = spawnWorker(redis.url, workspace, ['--runs-dir', runsDir, ...LOCK, ...args], global);
  workers.push(w);
  return w;
}

/** Seed-dependent numbers through a delay (long enough for runs to spread over the workers). */
function sumGraph(delayMs: number, steps = 10): Record<string, unknown> {
  return graph({
    a: { type: 'core/Random', params: { min: 0, max: 100 } },
    b: { type: 'core/Number', params: { value: 5 } },
    wait: { type: 'core/Delay', params: { ms: delayMs, steps }, inputs: { value: { node: 'a', output: 'value' } } },
    sum: { type: 'core/Add', inputs: { a: { node: 'wait', output: 'value' }, b: { node: 'b', output: 'value' } } },
  });
}

/** The results of a run in this process (the reference a remote run must equal). */
async function localResults(g: Record<string, unknown>, seed: number): Promise<unknown> {
  let results: unknown;
  await new Promise<void>((resolve, reject) => engine.run(g, { seed }).subscribe({ next: (e) => { if (e.type === 'run:done') results = toWireValue(e.results); }, error: reject, complete: resolve }));
  return results;
}

async function remoteResults(id: string): Promise<{ results: unknown; starts: number; events: any[] }> {
  const events = (await call(base, 'GET', `/api/runs/${id}/events`)).json.events as any[];
  const done = events.find((e) => e.type === 'run:done');
  return { results: done?.results, starts: events.filter((e) => e.type === 'run:start').length, events };
}

/** Ids of the runs a worker printed as started. */
function startedBy(w: WorkerProcess): string[] {
  return [...w.output.matchAll(/run (\S+): started/g)].map((m) => m[1]!);
}

test.before(async () => {
  redis = await startRedis();
  engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => undefined) });
  // The server validates graphs with its own engine: it knows the good/ plugin, and only one worker will.
  await loadPlugins(engine, discoverPlugins({ cwd: tempWorkspace(), paths: [GOOD_PLUGIN], scanNodeModules: false }));
  workspace = tempWorkspace('tessera-scaleout-');
  runsDir = join(workspace, 'runs');
  const backend = await RedisRunBackend.connect(parseRedisUrl(redis.url), { engineVersion: ENGINE_API_VERSION, logger: engine.logger });
  server = await createServer({ engine, host: '127.0.0.1', port: 0, ui: false, workspace, runsDir, backend }).listen();
  base = server.url;
  const first = [worker(), worker(), worker()];
  await Promise.all(first.map((w) => w.ready));
});

test.after(async () => {
  await Promise.allSettled(workers.map(stopWorker));
  await server?.close();
  await redis?.stop();
});

test('runs submitted to a --queue server run on the workers, with the results of in-process runs', async () => {
  const g = sumGraph(600);
  const seeds = [0, 1, 2, 3, 4, 5];
  const ids: string[] = [];
  for (const seed of seeds) {
    const r = await call(base, 'POST', '/api/runs', { body: { graph: g, seed } });
    assert.is(r.status, 202, JSON.stringify(r.json));
    ids.push(r.json.run.id);
  }
  for (const [i, id] of ids.entries()) {
    const info = await waitForRun(base, id, {}, 60_000);
    assert.is(info.status, 'done', JSON.stringify(info.errors));
    assert.is(info.nodes.sum.state, 'done');
    const remote = await remoteResults(id);
    assert.equal(remote.results, await localResults(g, seeds[i]!));
    assert.is(remote.starts, 1);
    assert.ok(existsSync(join(runsDir, id, 'run.json')));
  }
  // The runs were spread: each worker takes one at a time, and each run waits 0.6 s.
  const used = workers.filter((w) => startedBy(w).some((id) => ids.includes(id)));
  assert.ok(used.length >= 2, `only ${used.length} worker(s) ran the runs`);
});

test('live progress of a remote run reaches GET /api/runs/{id} and the WebSocket', async () => {
  const r = await call(base, 'POST', '/api/runs', { body: { graph: sumGraph(3000, 30), seed: 9 } });
  const id = r.json.run.id as string;
  const ws = await TestSocket.open(base, `/api/ws?run=${id}`);
  try {
    await ws.waitFor((m) => m.type === 'event' && m.event.runId === id && m.event.type === 'node:progress' && m.event.nodeId === 'wait', 30_000);
    await waitUntil(async () => {
      const wait = (await call(base, 'GET', `/api/runs/${id}`)).json.nodes.wait;
      return wait?.state === 'running' && wait.value >= 1 && wait.max === 30;
    }, 10_000);
    const info = await waitForRun(base, id, {}, 30_000);
    assert.is(info.status, 'done');
    await ws.waitFor((m) => m.type === 'event' && m.event.type === 'run:done', 10_000);
  } finally {
    ws.socket.destroy();
  }
});

test('a worker killed mid-run leaves a stalled job that another worker finishes', async () => {
  const g = sumGraph(4000, 40);
  const r = await call(base, 'POST', '/api/runs', { body: { graph: g, seed: 7 } });
  const id = r.json.run.id as string;
  await waitUntil(async () => (await call(base, 'GET', `/api/runs/${id}`)).json.nodes.wait?.value >= 4, 30_000);
  const holder = workers.find((w) => startedBy(w).includes(id));
  assert.ok(holder, 'no worker says it started the run');
  holder!.child.kill('SIGKILL');
  await holder!.exited;
  const info = await waitForRun(base, id, {}, 60_000);
  assert.is(info.status, 'done', JSON.stringify(info.errors));
  const remote = await remoteResults(id);
  assert.equal(remote.results, await localResults(g, 7));
  // Two attempts, one result: the second worker started over, the run ended once.
  assert.is(remote.starts, 2);
  assert.is(remote.events.filter((e) => e.type === 'run:done').length, 1);
  assert.ok(workers.some((w) => w !== holder && startedBy(w).includes(id)));
  // seq stays the position of each event across the takeover.
  remote.events.forEach((e, i) => assert.is(e.seq, i));
});

test('a job needing a node type no worker has waits, with the reason, until a worker with the plugin takes it', async () => {
  const g = graph({ x: { type: 'core/Number', params: { value: 4 } }, t: { type: 'good/Triple', inputs: { x: { node: 'x', output: 'value' } } } });
  const r = await call(base, 'POST', '/api/runs', { body: { graph: g } });
  assert.is(r.status, 202, JSON.stringify(r.json));
  const id = r.json.run.id as string;
  const queue = new Queue(QUEUE_NAME, { connection: parseRedisUrl(redis.url) });
  try {
    await waitUntil(async () => (await queue.getJobLogs(id)).logs.some((l) => l.includes('lacks node type good/Triple')), 20_000);
    const state = await queue.getJobState(id);
    assert.ok(state === 'delayed' || state === 'waiting' || state === 'active', state);
    assert.is((await call(base, 'GET', `/api/runs/${id}`)).json.status, 'running');
    const capable = worker([], ['--plugin', GOOD_PLUGIN]);
    await capable.ready;
    const info = await waitForRun(base, id, {}, 60_000).catch(async (error: Error) => {
      throw new Error(`${error.message}; job ${await queue.getJobState(id)}; worker outputs:\n${workers.map((w) => w.output).join('\n---\n')}`);
    });
    assert.is(info.status, 'done', JSON.stringify(info.errors));
    assert.equal((await remoteResults(id)).results, { t: { y: 12 } });
    assert.ok(startedBy(capable).includes(id));
  } finally {
    await queue.close();
  }
});

test('a foreign job payload is rejected, never executed', async () => {
  const queue = new Queue(QUEUE_NAME, { connection: parseRedisUrl(redis.url) });
  try {
    const foreign = { format: 'tessera-run-job', version: 1, runId: 'foreign-1', engineVersion: ENGINE_API_VERSION, nodeTypes: [], graph: { nodes: {} }, code: 'process.exit(1)' };
    await queue.add('run', foreign, { jobId: 'foreign-1' });
    await queue.add('run', { hello: 'world' }, { jobId: 'foreign-2' });
    await waitUntil(async () => (await queue.getJobState('foreign-1')) === 'failed' && (await queue.getJobState('foreign-2')) === 'failed', 20_000);
    const job = await queue.getJob('foreign-1');
    assert.match(job!.failedReason, /rejected by worker .*not a tessera-run-job v1 payload/);
    assert.not.ok(existsSync(join(runsDir, 'foreign-1')));
    assert.ok(workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null).length >= 2, 'a worker died on a foreign payload');
  } finally {
    await queue.close();
  }
});

test.run();
