import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, createLogger, type Engine } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { createServer, type TesseraServer } from '../../core/server/createServer.ts';
import { RedisRunBackend } from '../../core/queue/RedisRunBackend.ts';
import { parseRedisUrl } from '../../core/queue/redisUrl.ts';
import { ENGINE_API_VERSION } from '../../core/version.ts';
import { call, tempWorkspace, TestSocket, waitUntil } from '../server/helpers.ts';
import { startRedis, type RedisServer } from './redisServer.ts';
import { spawnWorker, stopWorker, type WorkerProcess } from './workers.ts';
import { runOnce, sweepGraph } from './sweepSupport.ts';

// Issue 19's done-when: a sweep submitted to a --queue server (POST /api/sweeps) runs on three
// `tessera worker` processes through a real redis-server, survives kill -9 of a worker and of
// redis-server in mid-sweep, and every row ends done once with the results of the runs one by
// one. Workers use a 5 s lock, so the Redis restart does not look like a dead worker.

let redis: RedisServer;
let engine: Engine;
let server: TesseraServer;
let workspace: string;
let runsDir: string;
const workers: WorkerProcess[] = [];

const startedBy = (w: WorkerProcess) => [...w.output.matchAll(/run (\S+): started/g)].map((m) => m[1]!);

test.before(async () => {
  redis = await startRedis();
  engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => undefined) });
  workspace = tempWorkspace('tessera-server-sweep-');
  runsDir = join(workspace, 'runs');
  const backend = await RedisRunBackend.connect(parseRedisUrl(redis.url), { engineVersion: ENGINE_API_VERSION, logger: engine.logger });
  server = await createServer({ engine, host: '127.0.0.1', port: 0, ui: false, workspace, runsDir, backend }).listen();
  for (let i = 0; i < 3; i++) workers.push(spawnWorker(redis.url, workspace, ['--runs-dir', runsDir, '--lock-ms', '5000']));
  await Promise.all(workers.map((w) => w.ready));
});

test.after(async () => {
  await Promise.allSettled(workers.map(stopWorker));
  await server?.close();
  await redis?.stop();
});

test('a sweep POSTed to a --queue server runs on 3 workers, survives kill -9 of a worker and of redis-server, every row done once', async () => {
  const g = sweepGraph(3000, 30);
  const ws = await TestSocket.open(server.url, '/api/ws');
  try {
    const posted = await call(server.url, 'POST', '/api/sweeps', { body: { graph: g, grid: [{ node: 'b', param: 'value', values: [7, 70] }], seeds: [4, 5, 6], label: 'done-when' } });
    assert.is(posted.status, 202, posted.text);
    const id = posted.json.sweep.id as string;
    assert.is(posted.json.sweep.total, 6);
    const table = async () => (await call(server.url, 'GET', `/api/sweeps/${id}`)).json;
    // Kill -9 the worker holding a run of the sweep, once runs are on at least two workers.
    let ids: string[] = [];
    await waitUntil(async () => {
      ids = (await table()).table.rows.map((r: { runId?: string }) => r.runId).filter(Boolean);
      return ids.length === 6 && workers.filter((w) => startedBy(w).some((r) => ids.includes(r))).length >= 2;
    }, 30_000);
    const victim = workers.find((w) => startedBy(w).some((r) => ids.includes(r)))!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    // Then redis-server, with runs in the workers' hands and others waiting in the queue.
    await redis.restart();
    const { sweep, table: final } = await (async () => {
      let last: any;
      await waitUntil(async () => (last = await table()).sweep.state === 'ended', 120_000);
      return last;
    })();
    assert.equal(sweep.counts, { done: 6 }, JSON.stringify(final.rows.map((r: any) => [r.status, r.error])));
    // Each row: one run, ended done once, with the results of the same cell run alone in-process.
    assert.is(new Set(final.rows.map((r: any) => r.runId)).size, 6);
    for (const row of final.rows) {
      const cell = JSON.parse(JSON.stringify(g));
      cell.nodes.b.params.value = row.params[0].value;
      const reference = await runOnce(engine, cell, row.seed);
      const events = readFileSync(join(runsDir, row.runId, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const ends = events.filter((e) => e.type === 'run:done' || e.type === 'run:failed' || e.type === 'run:cancelled');
      assert.is(ends.length, 1, `${row.runId}: ${JSON.stringify(ends)}`);
      assert.equal(ends[0].results, reference);
      assert.is(row.outputs['sum.sum'], (reference.sum as { sum: number }).sum);
    }
    // The killed worker's run was finished by another.
    const taken = ids.filter((r) => startedBy(victim).includes(r));
    assert.ok(taken.length >= 1);
    for (const r of taken) assert.ok(workers.some((w) => w !== victim && startedBy(w).includes(r)), `run ${r} was not taken over`);
    // The server's own record agrees, and clients saw the counts reach the end live.
    assert.equal(JSON.parse(readFileSync(join(runsDir, 'sweeps', id, 'sweep.json'), 'utf8')).counts, { done: 6 });
    await ws.waitFor((m) => m.type === 'sweep' && m.sweep.id === id && m.sweep.state === 'ended' && m.sweep.counts.done === 6, 10_000);
  } finally {
    ws.close();
  }
});

test.run();
