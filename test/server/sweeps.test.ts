import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, createLogger, type Engine } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { createServer } from '../../core/server/createServer.ts';
import { scalarOutputs } from '../../core/sweep/SweepTable.ts';
import { runOnce, sweepGraph } from '../scaleout/sweepSupport.ts';
import { call, graph, serverTestPlugin, startServer, TestSocket, tempWorkspace, waitUntil } from './helpers.ts';

// POST /api/sweeps and co.: a sweep as one object on a real server (in-process queue), its
// table against runs one by one, the checks of `tessera sweep` with pointers into the body,
// cancellation, and the records read back by a restarted server.

let engine: Engine;

test.before(async () => {
  engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => undefined) });
});

async function waitEnded(base: string, id: string, timeoutMs = 30_000): Promise<any> {
  let last: any;
  await waitUntil(async () => {
    last = (await call(base, 'GET', `/api/sweeps/${id}`)).json;
    return last.sweep?.state === 'ended';
  }, timeoutMs);
  return last;
}

test('a sweep submitted as one object runs every cell once, with the results of the runs one by one, and tells the WebSocket', async () => {
  const server = await startServer({ concurrency: 2 });
  const ws = await TestSocket.open(server.url, '/api/ws');
  try {
    const g = sweepGraph(30);
    const posted = await call(server.url, 'POST', '/api/sweeps', { body: { graph: g, grid: [{ node: 'b', param: 'value', values: [5, 50] }], seeds: [0, 1], label: 'four' } });
    assert.is(posted.status, 202, posted.text);
    const id = posted.json.sweep.id;
    assert.is(posted.headers.location, `/api/sweeps/${id}`);
    assert.is(posted.json.sweep.total, 4);
    assert.equal(posted.json.sweep.params, ['b.value']);
    const { sweep, table } = await waitEnded(server.url, id);
    assert.equal(sweep.counts, { done: 4 });
    assert.is(table.format, 'tessera-sweep');
    assert.is(table.id, id);
    assert.is(table.label, 'four');
    assert.equal(table.grid, [{ node: 'b', param: 'value', values: [5, 50] }]);
    assert.equal(table.rows.map((r: any) => [r.params[0].value, r.seed]), [[5, 0], [5, 1], [50, 0], [50, 1]]);
    for (const row of table.rows) {
      const cell = JSON.parse(JSON.stringify(g));
      cell.nodes.b.params.value = row.params[0].value;
      assert.equal(row.outputs, { ...scalarOutputs(await runOnce(engine, cell, row.seed)) });
      const run = (await call(server.url, 'GET', `/api/runs/${row.runId}`)).json;
      assert.is(run.status, 'done');
      assert.is(run.seed, row.seed);
    }
    // Four runs, each once: the queue holds no other.
    assert.is((await call(server.url, 'GET', '/api/runs')).json.runs.length, 4);
    // The record: the CLI's table format, atomically written, in <runs>/sweeps/<id>/.
    const dir = join(server.queue.runsDir, 'sweeps', id);
    assert.equal(JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8')).rows, table.rows);
    const md = readFileSync(join(dir, 'sweep.md'), 'utf8');
    assert.ok(md.includes(`| 0 | 5 | 0 | done | ${table.rows[0].runId} |`) && /\| b\.value \| seed \| status \| run \| s \| sum\.sum \| error \|/.test(md), md);
    const listed = (await call(server.url, 'GET', '/api/sweeps')).json.sweeps;
    assert.equal(listed.map((s: any) => [s.id, s.state, s.counts]), [[id, 'ended', { done: 4 }]]);
    // Live: the sweep's counts reached the socket, ending with every run done.
    await ws.waitFor((m) => m.type === 'sweep' && m.sweep.id === id && m.sweep.state === 'ended' && m.sweep.counts.done === 4);
    assert.ok(ws.messages.some((m) => m.type === 'sweep' && m.sweep.id === id && m.sweep.state === 'running'));
  } finally {
    ws.close();
    await server.close();
  }
});

test('an invalid sweep is refused with 400 and JSON pointers into the body, and queues nothing', async () => {
  const server = await startServer();
  try {
    const g = sweepGraph(10);
    const post = (body: unknown) => call(server.url, 'POST', '/api/sweeps', { body });
    // The body's shape (ajv): a missing grid, an empty value list, a seed out of range, unknown fields.
    const shape = await post({ graph: g, grid: [{ node: 'b', param: 'value', values: [] }], seeds: [-1], extra: 1 });
    assert.is(shape.status, 400);
    assert.is(shape.json.error, 'invalid_body');
    const pointers = shape.json.issues.map((i: any) => i.pointer);
    for (const p of ["/grid/0/values", "/seeds/0", "/extra"]) assert.ok(pointers.includes(p), JSON.stringify(shape.json.issues));
    assert.is((await post({ graph: g })).status, 400);
    // The checks of `tessera sweep`, every problem at once.
    const bad = await post({ graph: g, grid: [{ node: 'bb', param: 'value', values: [1] }, { node: 'b', param: 'valu', values: [1] }, { node: 'a', param: 'min', values: [1] }, { node: 'a', param: 'min', values: [2] }, { node: '__proto__', param: 'x', values: [1] }], seeds: [1, 2, 1] });
    assert.is(bad.status, 400);
    assert.is(bad.json.error, 'invalid_sweep');
    assert.equal(bad.json.issues.map((i: any) => `${i.pointer} ${i.message}`), [
      '/grid/0/node grid[0] "bb.value": no node "bb" in the graph (did you mean "b"?)',
      '/grid/1/param grid[1] "b.valu": core/Number has no param "valu" (did you mean "value"?); its params: value',
      '/grid/3/param grid[3] "a.min" is given twice',
      '/grid/4/node grid[4] "__proto__.x": no node "__proto__" in the graph',
      '/seeds/2 seeds: 1 is given twice',
    ]);
    // More than 10 000 runs.
    const huge = await post({ graph: g, grid: [{ node: 'b', param: 'value', values: Array.from({ length: 101 }, (_, i) => i) }, { node: 'a', param: 'max', values: Array.from({ length: 100 }, (_, i) => i) }] });
    assert.is(huge.status, 400);
    assert.match(huge.json.issues[0].message, /10100 runs; at most 10000/);
    // A cell's graph as it will run: b.value must be a number.
    const cell = await post({ graph: g, grid: [{ node: 'b', param: 'value', values: [1, 'text'] }] });
    assert.is(cell.status, 400);
    assert.ok(cell.json.issues.some((i: any) => /with b\.value="text"/.test(i.message) && i.pointer === '/nodes/b/params/value'), JSON.stringify(cell.json.issues));
    // The graph itself, with its node errors.
    const broken = await post({ graph: graph({ x: { type: 'core/Nope' } }), grid: [] });
    assert.is(broken.status, 400);
    assert.ok(broken.json.nodeErrors.x.length > 0);
    // Resume: an unknown sweep.
    const unknown = await post({ graph: g, grid: [], resume: '20260101-000000-000-abcdef' });
    assert.is(unknown.status, 400);
    assert.is(unknown.json.issues[0].pointer, '/resume');
    assert.equal((await call(server.url, 'GET', '/api/runs')).json.runs, []);
    assert.equal((await call(server.url, 'GET', '/api/sweeps')).json.sweeps, []);
    assert.is((await call(server.url, 'GET', '/api/sweeps/nope')).status, 404);
    assert.is((await call(server.url, 'PUT', '/api/sweeps')).status, 405);
  } finally {
    await server.close();
  }
});

test('cancelling a sweep cancels its queued and running runs; a second cancel is 409', async () => {
  const server = await startServer();
  try {
    const g = graph({ s: { type: 'servertest/Sleep', params: { ms: 3000 } } });
    const posted = await call(server.url, 'POST', '/api/sweeps', { body: { graph: g, grid: [{ node: 's', param: 'ms', values: [3000, 3001, 3002] }], provider: 'cpu' } });
    const id = posted.json.sweep.id;
    await waitUntil(async () => (await call(server.url, 'GET', `/api/sweeps/${id}`)).json.sweep.counts.running === 1);
    const cancelled = await call(server.url, 'POST', `/api/sweeps/${id}/cancel`);
    assert.is(cancelled.status, 202);
    const { sweep, table } = await waitEnded(server.url, id, 10_000);
    assert.equal(sweep.counts, { cancelled: 3 });
    assert.is(sweep.cancelled, true);
    assert.is(table.cancelled, true);
    assert.is(table.provider, 'cpu');
    for (const row of table.rows) {
      const run = (await call(server.url, 'GET', `/api/runs/${row.runId}`)).json;
      assert.is(run.status, 'cancelled');
      assert.is(run.provider, 'cpu'); // the sweep's provider reaches each of its runs
    }
    const again = await call(server.url, 'POST', `/api/sweeps/${id}/cancel`);
    assert.is(again.status, 409);
    assert.is(again.json.error, 'conflict');
  } finally {
    await server.close();
  }
});

test('sweeps are listed again by a restarted server; rows it left unfinished take their run\'s end, else interrupted; a resume keeps done rows', async () => {
  const workspace = tempWorkspace();
  const make = async () => createServer({ engine: await createEngine({ plugins: [...builtinPlugins, serverTestPlugin], logger: createLogger(() => undefined) }), host: '127.0.0.1', port: 0, ui: false, workspace }).listen();
  const g = sweepGraph(10);
  let server = await make();
  let id: string;
  let table: any;
  try {
    id = (await call(server.url, 'POST', '/api/sweeps', { body: { graph: g, grid: [{ node: 'b', param: 'value', values: [1, 2] }], seeds: [3] } })).json.sweep.id;
    table = (await waitEnded(server.url, id)).table;
  } finally {
    await server.close();
  }
  // As a server killed mid-sweep leaves it: row 0's run ended but the table still says running;
  // row 1 was never queued.
  const file = join(workspace, 'runs', 'sweeps', id, 'sweep.json');
  const saved = JSON.parse(readFileSync(file, 'utf8'));
  saved.rows[0] = { ...saved.rows[0], status: 'running', outputs: undefined, durationMs: undefined };
  saved.rows[1] = { index: 1, key: saved.rows[1].key, params: saved.rows[1].params, seed: 3, status: 'pending' };
  writeFileSync(file, JSON.stringify(saved));
  server = await make();
  try {
    const listed = (await call(server.url, 'GET', '/api/sweeps')).json.sweeps;
    assert.equal(listed.map((s: any) => [s.id, s.state, s.counts]), [[id, 'ended', { done: 1, interrupted: 1 }]]);
    const again = (await call(server.url, 'GET', `/api/sweeps/${id}`)).json.table;
    assert.equal(again.rows[0].outputs, table.rows[0].outputs);
    assert.is(again.rows[0].status, 'done');
    assert.is(again.rows[1].status, 'interrupted');
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).counts, { done: 1, interrupted: 1 });
    assert.ok(existsSync(join(workspace, 'runs', 'sweeps', id, 'sweep.md')));
    // Resumed: the done row is kept (same run), only the interrupted one runs.
    const resumed = await call(server.url, 'POST', '/api/sweeps', { body: { graph: g, grid: [{ node: 'b', param: 'value', values: [1, 2] }], seeds: [3], resume: id } });
    assert.is(resumed.status, 202, resumed.text);
    const next = await waitEnded(server.url, resumed.json.sweep.id);
    assert.equal(next.sweep.counts, { done: 2 });
    assert.is(next.table.resumedFrom, id);
    assert.is(next.table.rows[0].runId, table.rows[0].runId);
    assert.equal(next.table.rows[1].outputs, table.rows[1].outputs);
    // Another graph cannot resume it.
    const other = await call(server.url, 'POST', '/api/sweeps', { body: { graph: sweepGraph(11), grid: [], resume: id } });
    assert.is(other.status, 409);
  } finally {
    await server.close();
  }
});

test.run();
