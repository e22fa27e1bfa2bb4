/**
 * Scale-out throughput: six runs (a 200k-number Range → ListStats, and a 1 s Delay; no cache)
 * in the in-process queue (concurrency 1), then through a real redis-server on 1, 2 and 3
 * `tessera worker` processes. The runs are mostly waiting, so this measures the queue's
 * dispatch overhead and parallelism, not CPU scaling (this machine has 2 cores).
 *
 *   node --import ./core/loader/register.mjs bench/scaleout/throughput.bench.ts
 *
 * Figures are recorded in docs/scale-out.md.
 */
import { join } from 'node:path';
import { createEngine, createLogger } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { createServer } from '../../core/server/createServer.ts';
import { RedisRunBackend } from '../../core/queue/RedisRunBackend.ts';
import { parseRedisUrl } from '../../core/queue/redisUrl.ts';
import { ENGINE_API_VERSION } from '../../core/version.ts';
import { call, graph, tempWorkspace, waitForRun } from '../../test/server/helpers.ts';
import { startRedis } from '../../test/scaleout/redisServer.ts';
import { spawnWorker, stopWorker } from '../../test/scaleout/workers.ts';

const redis = await startRedis();
const engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => undefined) });
const workspace = tempWorkspace('bench-');
const runsDir = join(workspace, 'runs');
const g = (i: number) => graph({ r: { type: 'core/Range', params: { start: 0, stop: 200000 + i } }, s: { type: 'core/ListStats', inputs: { list: { node: 'r', output: 'list' } } }, d: { type: 'core/Delay', params: { ms: 1000, steps: 10 } } });
async function batch(url: string, n: number): Promise<number> {
  const t0 = performance.now();
  const ids = [];
  for (let i = 0; i < n; i++) ids.push((await call(url, 'POST', '/api/runs', { body: { graph: g(i), useCache: false } })).json.run.id);
  for (const id of ids) { const r = await waitForRun(url, id, {}, 120_000); if (r.status !== 'done') throw new Error(JSON.stringify(r)); }
  return performance.now() - t0;
}
// In-process baseline, concurrency 1.
const local = await createServer({ engine, host: '127.0.0.1', port: 0, ui: false, workspace, runsDir: join(workspace, 'local') }).listen();
console.log('in-process c=1, 6 runs:', Math.round(await batch(local.url, 6)), 'ms');
await local.close();
const backend = await RedisRunBackend.connect(parseRedisUrl(redis.url), { engineVersion: ENGINE_API_VERSION, logger: engine.logger });
const server = await createServer({ engine, host: '127.0.0.1', port: 0, ui: false, workspace, runsDir, backend }).listen();
const ws = [];
for (const n of [1, 2, 3]) {
  while (ws.length < n) { const w = spawnWorker(redis.url, workspace, ['--runs-dir', runsDir]); await w.ready; ws.push(w); }
  await batch(server.url, 1); // warm
  console.log(`redis, ${n} worker(s), 6 runs:`, Math.round(await batch(server.url, 6)), 'ms');
}
await Promise.all(ws.map(stopWorker));
await server.close();
await redis.stop();
process.exit(0);
