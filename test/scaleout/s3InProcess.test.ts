import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, createLogger, type Engine } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { createServer, type TesseraServer } from '../../core/server/createServer.ts';
import { openArtifactStore } from '../../core/storage/openArtifactStore.ts';
import type { S3ArtifactStore } from '../../core/storage/S3ArtifactStore.ts';
import { call, graph, tempWorkspace, TestSocket, waitForRun, waitUntil } from '../server/helpers.ts';
import { recordingStore } from './recordingStore.ts';
import { startS3, useS3Env, type S3Server } from './s3Server.ts';

// `serve --artifacts` without --queue (runs execute in the server) against a real S3-compatible
// server (s3rver, its own process): the server uploads each finished run as a worker does, and a
// second server with an empty runs folder reads runs, their WebSocket replay and sweeps from the
// bucket alone. No Redis.

let s3: S3Server;
let engine: Engine;
let store: S3ArtifactStore;
let server: TesseraServer;
let reader: TesseraServer;
let serverRuns: string;
let restoreEnv = () => {};
const warnings: string[] = [];

function sumGraph(ms: number): Record<string, unknown> {
  return graph({
    r: { type: 'core/Random', params: { min: 0, max: 100 } },
    wait: { type: 'core/Delay', params: { ms, steps: 2 }, inputs: { value: { node: 'r', output: 'value' } } },
    json: { type: 'core/SaveJSON', params: { filename: 'value.json' }, inputs: { value: { node: 'wait', output: 'value' } } },
  });
}

test.before(async () => {
  s3 = await startS3();
  restoreEnv = useS3Env(s3);
  engine = await createEngine({ plugins: builtinPlugins, logger: createLogger((level, message) => {
    if (level === 'warn') warnings.push(message);
  }) });
  const opened = await openArtifactStore({ url: `s3://${s3.bucket}/inproc`, endpoint: s3.endpoint });
  if (typeof opened === 'string') throw new Error(opened);
  store = opened;
  const ws = tempWorkspace('tessera-s3-inproc-');
  serverRuns = join(ws, 'runs');
  server = await createServer({ engine, host: '127.0.0.1', port: 0, ui: false, workspace: ws, artifacts: store }).listen();
  // Another machine: the same bucket, an empty runs folder, no queue.
  reader = await createServer({ engine, host: '127.0.0.1', port: 0, ui: false, workspace: tempWorkspace('tessera-s3-reader-'), artifacts: store }).listen();
});

test.after(async () => {
  await reader?.close();
  await server?.close();
  await s3?.stop();
  restoreEnv();
});

/** Waits until the bucket lists run `id` (its run.json is stored, last). */
async function stored(id: string): Promise<void> {
  await waitUntil(async () => (await store.listFiles(id)).some((f) => f.path === 'run.json'), 15_000);
}

test('an in-process run of serve --artifacts is uploaded when it ends, run.json last, and read by another server', async () => {
  const posted = await call(server.url, 'POST', '/api/runs', { body: { graph: sumGraph(50), seed: 4 } });
  assert.is(posted.status, 202, posted.text);
  const id = posted.json.run.id as string;
  assert.is((await waitForRun(server.url, id, {}, 20_000)).status, 'done');
  await stored(id);
  const files = (await store.listFiles(id)).map((f) => f.path).sort();
  for (const p of ['events.jsonl', 'graph.json', 'run.json', 'value.json']) assert.ok(files.includes(p), files.join(', '));
  // The run.json in the bucket is the server's final record, byte for byte.
  const object = await store.open(id, 'run.json');
  const { text } = await import('node:stream/consumers');
  assert.is(await text(object!.body), readFileSync(join(serverRuns, id, 'run.json'), 'utf8'));
  const info = await call(reader.url, 'GET', `/api/runs/${id}`);
  assert.is(info.status, 200, info.text);
  assert.is(info.json.status, 'done');
  assert.is(info.json.seed, 4);
  const value = await call(reader.url, 'GET', `/api/runs/${id}/files/value.json`);
  assert.is(value.text, readFileSync(join(serverRuns, id, 'value.json'), 'utf8'));
});

test('a WebSocket asking for a run only the bucket has gets its replay, as the run folder would give it', async () => {
  const posted = await call(server.url, 'POST', '/api/runs', { body: { graph: sumGraph(20), seed: 9 } });
  const id = posted.json.run.id as string;
  assert.is((await waitForRun(server.url, id, {}, 20_000)).status, 'done');
  await stored(id);
  // The run's own server replays it from its runs folder; the reader, from the bucket.
  const here = await TestSocket.open(server.url, `/api/ws?run=${id}`);
  const there = await TestSocket.open(reader.url, `/api/ws?run=${id}`);
  try {
    await here.waitFor((m) => m.type === 'event' && m.event.type === 'run:done');
    const done = await there.waitFor((m) => m.type === 'event' && m.event.type === 'run:done');
    const events = (ws: TestSocket) => ws.messages.filter((m) => m.type === 'event').map((m) => m.event);
    assert.equal(events(there), events(here));
    assert.ok(events(there).some((e) => e.type === 'node:output' && e.nodeId === 'wait'));
    const local = ((await call(server.url, 'GET', `/api/runs/${id}/events`)).json.events as any[]).at(-1);
    assert.equal(done.event, local);
    const run = there.messages.find((m) => m.type === 'run');
    assert.is(run.run.id, id);
    assert.is(run.run.status, 'done');
    assert.is(there.messages[0].type, 'status');
    // It stays open (pings answered) like any replayed finished run.
    there.send(JSON.stringify({ type: 'ping' }));
    await there.waitFor((m) => m.type === 'pong');
  } finally {
    here.close();
    there.close();
  }
  // A run in neither place: 404, as before.
  let refused = '';
  await TestSocket.open(reader.url, '/api/ws?run=20200101-000000-000-abcdef').catch((error: Error) => (refused = error.message));
  assert.match(refused, /404/);
});

test('GET /api/sweeps lists the sweeps in the bucket; a sweep detail reads its stored table; cancel answers 409', async () => {
  const posted = await call(server.url, 'POST', '/api/sweeps', { body: { graph: sumGraph(10), grid: [{ node: 'wait', param: 'ms', values: [10, 20] }], seeds: [0], label: 'inproc' } });
  assert.is(posted.status, 202, posted.text);
  const id = posted.json.sweep.id as string;
  await waitUntil(async () => (await call(server.url, 'GET', `/api/sweeps/${id}`)).json.sweep.state === 'ended', 30_000);
  await waitUntil(async () => (await store.listSweepIds()).includes(id), 10_000);
  const own = await call(server.url, 'GET', `/api/sweeps/${id}`);
  // The reader keeps the bucket's listing for 5 s: poll past it.
  await waitUntil(async () => ((await call(reader.url, 'GET', '/api/sweeps')).json.sweeps as any[]).some((s) => s.id === id), 10_000);
  const listed = ((await call(reader.url, 'GET', '/api/sweeps')).json.sweeps as any[]).find((s) => s.id === id);
  assert.equal(listed, own.json.sweep);
  const detail = await call(reader.url, 'GET', `/api/sweeps/${id}`);
  assert.is(detail.status, 200, detail.text);
  assert.equal(detail.json.sweep, own.json.sweep);
  assert.equal(detail.json.table, JSON.parse(readFileSync(join(serverRuns, 'sweeps', id, 'sweep.json'), 'utf8')));
  assert.equal(detail.json.table.counts, { done: 2 });
  // Its runs are in the bucket too (uploaded by the server that ran them).
  for (const row of detail.json.table.rows) await stored(row.runId);
  assert.is((await call(reader.url, 'POST', `/api/sweeps/${id}/cancel`)).status, 409);
  assert.is((await call(reader.url, 'GET', '/api/sweeps/20200101-000000-000-abcdef')).status, 404);
  // A sweep.json in the bucket that is not a table is not listed.
  const junk = join(tempWorkspace('tessera-s3-junk-'), 'sweep.json');
  writeFileSync(junk, '{"format":"something-else"}');
  await store.putSweepFile('20200101-000000-000-abcdee', 'sweep.json', junk);
  assert.is((await call(reader.url, 'GET', '/api/sweeps/20200101-000000-000-abcdee')).status, 404);
  // A resume on the reader keeps the stored done rows and runs nothing again.
  const resumed = await call(reader.url, 'POST', '/api/sweeps', { body: { graph: sumGraph(10), grid: [{ node: 'wait', param: 'ms', values: [10, 20] }], seeds: [0], resume: id } });
  assert.is(resumed.status, 202, resumed.text);
  const rid = resumed.json.sweep.id as string;
  await waitUntil(async () => (await call(reader.url, 'GET', `/api/sweeps/${rid}`)).json.sweep.state === 'ended', 15_000);
  const again = (await call(reader.url, 'GET', `/api/sweeps/${rid}`)).json.table;
  assert.equal(again.rows.map((r: any) => r.runId), detail.json.table.rows.map((r: any) => r.runId));
  assert.equal(warnings.filter((w) => w.includes('could not be stored')), []);
});

test('a sweep that the server\'s close ends has its table in the bucket once close() returns', async () => {
  // The bucket, with each sweep file's copy starting 1 s late (a slow service): close() outlasts it.
  const slow = { ...recordingStore(store).store, putSweepFile: async (sweepId: string, path: string, file: string) => {
    await new Promise((r) => setTimeout(r, 1000));
    return store.putSweepFile(sweepId, path, file);
  } };
  const closing = await createServer({ engine, host: '127.0.0.1', port: 0, ui: false, workspace: tempWorkspace('tessera-s3-closing-'), artifacts: slow }).listen();
  const posted = await call(closing.url, 'POST', '/api/sweeps', { body: { graph: sumGraph(5000), grid: [{ node: 'wait', param: 'ms', values: [5000, 6000] }], seeds: [0] } });
  assert.is(posted.status, 202, posted.text);
  const id = posted.json.sweep.id as string;
  await waitUntil(async () => closing.queue.list().some((r) => r.status === 'running'), 10_000);
  await closing.close();
  assert.ok((await store.listSweepIds()).includes(id), 'its table was copied before close() returned');
  const table = JSON.parse(await (await import('node:stream/consumers')).text((await store.openSweepFile(id, 'sweep.json'))!.body)) as { rows: unknown[] };
  assert.is(table.rows.length, 2);
});

test('a run whose final record cannot be written is not uploaded (nothing half stored); the reason is logged', async () => {
  const posted = await call(server.url, 'POST', '/api/runs', { body: { graph: sumGraph(1500), seed: 5 } });
  assert.is(posted.status, 202, posted.text);
  const id = posted.json.run.id as string;
  const dir = join(serverRuns, id);
  await waitUntil(async () => existsSync(join(dir, 'run.json')), 10_000);
  // run.json replaced by a folder holding a file: the final write (temp + rename onto it) fails.
  rmSync(join(dir, 'run.json'));
  mkdirSync(join(dir, 'run.json'));
  writeFileSync(join(dir, 'run.json', 'keep'), '');
  assert.is((await waitForRun(server.url, id, {}, 20_000)).status, 'done');
  await waitUntil(async () => warnings.some((w) => w.includes(`run ${id}: not uploaded, as its record could not be written`)), 10_000);
  assert.equal(await store.listFiles(id), []);
});

test('the bucket away: a WebSocket for a run only it could have is refused 502, GET /api/sweeps lists the server\'s own, a stored sweep\'s detail 502', async () => {
  // The server's own sweeps (GET /api/sweeps adds the bucket's: the reader's resumed one).
  const own = server.sweeps.list().map((s) => s.id);
  assert.ok(own.length >= 1);
  await s3.kill();
  try {
    let refused = '';
    await TestSocket.open(reader.url, '/api/ws?run=20200101-000000-000-abcdef').catch((error: Error) => (refused = error.message));
    assert.match(refused, /502 Bad Gateway/);
    // Past the 5 s the last listing is reused, the server's own sweeps are still listed.
    await new Promise((r) => setTimeout(r, 5200));
    const listed = await call(server.url, 'GET', '/api/sweeps');
    assert.is(listed.status, 200);
    assert.equal((listed.json.sweeps as any[]).map((s) => s.id), own);
    assert.ok(warnings.some((w) => w.includes('cannot be listed')), warnings.join('\n'));
    const detail = await call(reader.url, 'GET', '/api/sweeps/20200101-000000-000-abcdef');
    assert.is(detail.status, 502);
    assert.match(detail.json.message, /the sweep store cannot be read: .*does not answer \(ECONNREFUSED\)/);
  } finally {
    await s3.start();
  }
});

test.run();
