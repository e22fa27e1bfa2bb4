import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TesseraServer } from '../../core/server/createServer.ts';
import { call, graph, startServer, tempWorkspace, waitForRun, waitUntil } from './helpers.ts';

const root = new URL('../../', import.meta.url).pathname;
const demo = JSON.parse(readFileSync(join(root, 'graphs/demo.json'), 'utf8'));
const fast = graph({
  n: { type: 'core/Number', params: { value: 3 } },
  sq: { type: 'core/Math', params: { op: 'power', b: 2 }, inputs: { a: { node: 'n', output: 'value' } } },
  save: { type: 'core/SaveJSON', params: { filename: 'out.json' }, inputs: { value: { node: 'sq', output: 'result' } } },
});
const sleepy = (ms: number) => graph({ s: { type: 'servertest/Sleep', params: { ms } }, p: { type: 'core/Print', inputs: { value: { node: 's', output: 'value' } } } });

let server: TesseraServer;
let base: string;
const workspace = tempWorkspace();

test.before(async () => {
  mkdirSync(join(workspace, 'graphs'));
  writeFileSync(join(workspace, 'graphs/demo.json'), JSON.stringify(demo, null, 2));
  writeFileSync(join(workspace, 'secret.txt'), 'not for you');
  server = await startServer({ workspace, maxBodyBytes: 64 * 1024 });
  base = server.url;
});

test.after(async () => {
  await server.close();
});

test('health and node definitions (same JSON as `tessera nodes --json`)', async () => {
  const h = await call(base, 'GET', '/api/health');
  assert.is(h.status, 200);
  assert.is(h.json.ok, true);
  const nodes = await call(base, 'GET', '/api/nodes');
  assert.is(nodes.status, 200);
  assert.equal(nodes.json, JSON.parse(JSON.stringify(server.engine.describeNodes())));
  const one = await call(base, 'GET', '/api/nodes/core/Math');
  assert.is(one.json.type, 'core/Math');
  assert.is((await call(base, 'GET', '/api/nodes/core/Nope')).status, 404);
});

test('validate: a valid graph, and issues with node ids and JSON pointers', async () => {
  const ok = await call(base, 'POST', '/api/validate', { body: { graph: demo } });
  assert.is(ok.status, 200);
  assert.equal(ok.json, { valid: true, issues: [] });
  const bad = await call(base, 'POST', '/api/validate', { body: { graph: graph({ a: { type: 'core/Math', params: { op: 'nope' } }, b: { type: 'core/Nope' } }) } });
  assert.is(bad.status, 200);
  assert.is(bad.json.valid, false);
  assert.ok(bad.json.issues.some((i: any) => i.nodeId === 'a' && i.pointer.startsWith('/nodes/a')));
  assert.ok(bad.json.issues.some((i: any) => i.nodeId === 'b' && i.code === 'unknown_node_type'));
});

test('bad requests get clear 4xx JSON errors', async () => {
  const cases: [string, string, Parameters<typeof call>[3], number, string][] = [
    ['POST', '/api/validate', { raw: '{"graph":{}}', headers: { 'Content-Type': 'text/plain' } }, 415, 'unsupported_media_type'],
    ['POST', '/api/validate', { raw: '{"graph": ', headers: { 'Content-Type': 'application/json' } }, 400, 'invalid_json'],
    ['POST', '/api/validate', { raw: '', headers: { 'Content-Type': 'application/json' } }, 400, 'invalid_json'],
    ['POST', '/api/validate', { body: { graf: {} } }, 400, 'invalid_body'],
    ['POST', '/api/validate', { body: [1, 2] }, 400, 'invalid_body'],
    ['POST', '/api/runs', { body: { graph: fast, seed: -1 } }, 400, 'invalid_body'],
    ['POST', '/api/runs', { body: { graph: fast, extra: true } }, 400, 'invalid_body'],
    ['POST', '/api/runs', { body: { graph: fast, targets: 'sq' } }, 400, 'invalid_body'],
    ['POST', '/api/runs', { raw: JSON.stringify({ graph: fast, label: 'x'.repeat(70 * 1024) }), headers: { 'Content-Type': 'application/json' } }, 413, 'payload_too_large'],
    ['GET', '/api/nope', {}, 404, 'not_found'],
    ['DELETE', '/api/runs', {}, 405, 'method_not_allowed'],
    ['GET', '/api/runs/not-a-run', {}, 404, 'not_found'],
    ['GET', '/api/runs/%E0%A4%A', {}, 400, 'bad_request'],
  ];
  for (const [method, path, opts, status, error] of cases) {
    const r = await call(base, method, path, opts);
    assert.is(r.status, status, `${method} ${path} → ${r.status} ${r.text}`);
    assert.is(r.json?.error, error, `${method} ${path}: ${r.text}`);
    assert.type(r.json.message, 'string');
  }
  const invalid = await call(base, 'POST', '/api/validate', { body: { graf: {} } });
  assert.ok(invalid.json.issues.some((i: any) => /graph/.test(i.message)), invalid.text);
  const methodless = await call(base, 'DELETE', '/api/runs');
  assert.is(methodless.headers.allow, 'GET, POST');
});

test('queue an invalid graph: 400 with issues per node; unknown targets refused', async () => {
  const r = await call(base, 'POST', '/api/runs', { body: { graph: graph({ m: { type: 'core/Math', params: { op: 'nope' } } }) } });
  assert.is(r.status, 400);
  assert.is(r.json.error, 'invalid_graph');
  assert.ok(r.json.issues.length > 0);
  assert.ok(r.json.nodeErrors.m.length > 0);
  const t = await call(base, 'POST', '/api/runs', { body: { graph: fast, targets: ['ghost'] } });
  assert.is(t.status, 400);
  assert.match(t.text, /ghost/);
});

test('a run: 202 with an id, listed, events so far, output files, run record on disk', async () => {
  const r = await call(base, 'POST', '/api/runs', { body: { graph: fast, seed: 5, label: 'fast.json' } });
  assert.is(r.status, 202, r.text);
  const id = r.json.run.id;
  assert.match(id, /^[0-9]{8}-[0-9]{6}-/);
  assert.is(r.headers.location, `/api/runs/${id}`);
  const done = await waitForRun(base, id);
  assert.is(done.status, 'done');
  assert.is(done.label, 'fast.json');
  assert.is(done.nodes.sq.state, 'done');
  const list = await call(base, 'GET', '/api/runs');
  assert.ok(list.json.runs.some((x: any) => x.id === id));
  const ev = await call(base, 'GET', `/api/runs/${id}/events`);
  const types = ev.json.events.map((e: any) => e.type);
  assert.is(types[0], 'run:start');
  assert.is(types[types.length - 1], 'run:done');
  assert.equal(ev.json.events.map((e: any) => e.seq), ev.json.events.map((_: unknown, i: number) => i));
  const tail = await call(base, 'GET', `/api/runs/${id}/events?since=${ev.json.next - 1}`);
  assert.is(tail.json.events.length, 1);
  assert.is(tail.json.events[0].type, 'run:done');
  assert.is((await call(base, 'GET', `/api/runs/${id}/events?since=-1`)).status, 400);
  await waitUntil(async () => existsSync(join(workspace, 'runs', id, 'run.json')));
  const files = await call(base, 'GET', `/api/runs/${id}/files`);
  const paths = files.json.files.map((f: any) => f.path);
  for (const f of ['graph.json', 'events.jsonl', 'run.json', 'out.json']) assert.ok(paths.includes(f), `${f} in ${paths}`);
  const out = await call(base, 'GET', `/api/runs/${id}/files/out.json`);
  assert.is(out.status, 200);
  assert.is(out.json, 9);
  assert.match(String(out.headers['content-type']), /application\/json/);
  assert.is(JSON.parse(readFileSync(join(workspace, 'runs', id, 'run.json'), 'utf8')).status, 'done');
});

test('queue: one run at a time by default, in order', async () => {
  const a = (await call(base, 'POST', '/api/runs', { body: { graph: sleepy(250) } })).json.run;
  const b = (await call(base, 'POST', '/api/runs', { body: { graph: sleepy(50) } })).json.run;
  const bNow = (await call(base, 'GET', `/api/runs/${b.id}`)).json;
  assert.is(bNow.status, 'queued');
  assert.is(bNow.position, 0);
  const q = (await call(base, 'GET', '/api/runs')).json.queue;
  assert.equal(q, { running: [a.id], pending: [b.id] });
  const ra = await waitForRun(base, a.id);
  const rb = await waitForRun(base, b.id);
  assert.is(ra.status, 'done');
  assert.is(rb.status, 'done');
  assert.ok(Date.parse(rb.startedAt) >= Date.parse(ra.finishedAt), 'second run started after the first finished');
});

test('cancel: a running run stops promptly; a queued one never starts; a finished one is a 409', async () => {
  const a = (await call(base, 'POST', '/api/runs', { body: { graph: sleepy(5000) } })).json.run;
  const b = (await call(base, 'POST', '/api/runs', { body: { graph: sleepy(5000) } })).json.run;
  await waitUntil(async () => (await call(base, 'GET', `/api/runs/${a.id}`)).json.nodes.s?.state === 'running');
  const t0 = Date.now();
  const cb = await call(base, 'POST', `/api/runs/${b.id}/cancel`);
  assert.is(cb.status, 202);
  assert.is(cb.json.run.status, 'cancelled');
  const ca = await call(base, 'POST', `/api/runs/${a.id}/cancel`);
  assert.is(ca.status, 202);
  const ra = await waitForRun(base, a.id);
  assert.is(ra.status, 'cancelled');
  assert.ok(Date.now() - t0 < 2000, 'cancelled within 2 s');
  const rb = (await call(base, 'GET', `/api/runs/${b.id}`)).json;
  assert.is(rb.status, 'cancelled');
  assert.is(rb.startedAt, undefined);
  const evs = (await call(base, 'GET', `/api/runs/${a.id}/events`)).json.events;
  assert.is(evs[evs.length - 1].type, 'run:cancelled');
  const again = await call(base, 'POST', `/api/runs/${a.id}/cancel`);
  assert.is(again.status, 409);
  assert.is(again.json.error, 'conflict');
  assert.is((await call(base, 'GET', `/api/runs/${a.id}/cancel`)).status, 405);
});

test('a failing node: run failed, its message on the node and in errors', async () => {
  const r = (await call(base, 'POST', '/api/runs', { body: { graph: graph({ f: { type: 'servertest/Fail', params: { message: 'kaputt' } } }) } })).json.run;
  const done = await waitForRun(base, r.id);
  assert.is(done.status, 'failed');
  assert.is(done.nodes.f.state, 'error');
  assert.is(done.nodes.f.message, 'kaputt');
  assert.is(done.errors[0].message, 'kaputt');
  assert.is(done.errors[0].stack, undefined);
});

test('output files: no path traversal, only files of that run', async () => {
  const one = (await call(base, 'POST', '/api/runs', { body: { graph: fast } })).json.run.id;
  const two = (await call(base, 'POST', '/api/runs', { body: { graph: fast } })).json.run.id;
  await waitForRun(base, one);
  await waitForRun(base, two);
  await waitUntil(async () => existsSync(join(workspace, 'runs', two, 'run.json')));
  symlinkSync(join(workspace, 'secret.txt'), join(workspace, 'runs', one, 'link.txt'));
  symlinkSync(join(workspace, 'runs', two), join(workspace, 'runs', one, 'other'));
  const attempts = [
    `/api/runs/${one}/files/../${two}/out.json`,
    `/api/runs/${one}/files/..%2F${two}%2Fout.json`,
    `/api/runs/${one}/files/%2e%2e/%2e%2e/secret.txt`,
    `/api/runs/${one}/files/..%5C..%5Csecret.txt`,
    `/api/runs/${one}/files/%2Fetc%2Fpasswd`,
    `/api/runs/${one}/files/link.txt`,
    `/api/runs/${one}/files/other/out.json`,
    `/api/runs/${one}/files/out.json%00.png`,
    `/api/runs/..%2F..%2Fsecret.txt/files`,
    `/api/graphs/..%2Fsecret.txt`,
    `/api/graphs/../secret.txt`,
  ];
  for (const path of attempts) {
    const r = await call(base, 'GET', path);
    assert.ok(r.status === 404 || r.status === 400, `${path} → ${r.status} ${r.text}`);
    assert.not.match(r.text, /not for you|"value":9/);
  }
  const put = await call(base, 'PUT', '/api/graphs/..%2Fevil.json', { body: fast });
  assert.is(put.status, 400);
  assert.not.ok(existsSync(join(workspace, 'evil.json')));
  assert.is((await call(base, 'GET', `/api/runs/${one}/files/out.json`)).status, 200);
});

test('graphs: list, open, save (validated body), refuse odd names', async () => {
  const list = await call(base, 'GET', '/api/graphs');
  assert.equal(list.json.graphs.map((g: any) => g.path), ['demo.json']);
  assert.is(list.json.graphs[0].name, 'demo');
  const text = await call(base, 'GET', '/api/graphs/demo.json');
  assert.equal(text.json, demo);
  const saved = await call(base, 'PUT', '/api/graphs/sub/new.json', { body: fast });
  assert.is(saved.status, 200, saved.text);
  assert.is(saved.json.path, 'graphs/sub/new.json');
  assert.equal(JSON.parse(readFileSync(join(workspace, 'graphs/sub/new.json'), 'utf8')), fast);
  assert.is((await call(base, 'PUT', '/api/graphs/x.json', { body: { nodes: {} } })).status, 400);
  assert.is((await call(base, 'PUT', '/api/graphs/x.txt', { body: fast })).status, 400);
  assert.is((await call(base, 'GET', '/api/graphs/missing.json')).status, 404);
  const ws = await call(base, 'GET', '/api/workspace/files?ext=json');
  assert.ok(ws.json.files.includes('graphs/demo.json'));
  assert.not.ok(ws.json.files.some((f: string) => f.startsWith('runs/')));
});

test('without a token, only loopback Host names are answered (DNS rebinding)', async () => {
  const r = await call(base, 'GET', '/api/health', { headers: { Host: 'evil.example:8188' } });
  assert.is(r.status, 403);
  assert.is((await call(base, 'GET', '/api/health', { headers: { Host: `localhost:${server.port}` } })).status, 200);
});

test('history: a new server on the same workspace lists earlier runs and their events', async () => {
  const id = (await call(base, 'POST', '/api/runs', { body: { graph: fast } })).json.run.id;
  await waitForRun(base, id);
  await waitUntil(async () => existsSync(join(workspace, 'runs', id, 'run.json')));
  const second = await startServer({ workspace });
  try {
    const r = await call(second.url, 'GET', `/api/runs/${id}`);
    assert.is(r.status, 200);
    assert.is(r.json.status, 'done');
    const ev = await call(second.url, 'GET', `/api/runs/${id}/events`);
    assert.is(ev.json.events[ev.json.events.length - 1].type, 'run:done');
    assert.is((await call(second.url, 'GET', `/api/runs/${id}/files/out.json`)).json, 9);
  } finally {
    await second.close();
  }
});

test('history includes runs recorded by `tessera run` (listed by folder name, files browsable)', async () => {
  const ws = tempWorkspace();
  const dir = join(ws, 'runs', 'demo-2026-11-26T13-00-00-000Z');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ file: 'graphs/demo.json', status: 'run:done', runId: 'x' }));
  writeFileSync(join(dir, 'events.jsonl'), JSON.stringify({ type: 'run:done', runId: 'x', seq: 0, t: 1, durationMs: 1 }) + '\n');
  writeFileSync(join(dir, 'summary.json'), '{"ok":true}');
  const s = await startServer({ workspace: ws });
  try {
    const run = (await call(s.url, 'GET', '/api/runs')).json.runs[0];
    assert.equal([run.id, run.status, run.label], ['demo-2026-11-26T13-00-00-000Z', 'done', 'graphs/demo.json']);
    assert.equal((await call(s.url, 'GET', `/api/runs/${run.id}/files/summary.json`)).json, { ok: true });
    assert.is((await call(s.url, 'GET', `/api/runs/${run.id}/events`)).json.events[0].type, 'run:done');
  } finally {
    await s.close();
  }
});

test('concurrency 2 runs two at once', async () => {
  const s = await startServer({ concurrency: 2 });
  try {
    const a = (await call(s.url, 'POST', '/api/runs', { body: { graph: sleepy(300) } })).json.run;
    const b = (await call(s.url, 'POST', '/api/runs', { body: { graph: sleepy(300) } })).json.run;
    assert.equal((await call(s.url, 'GET', '/api/runs')).json.queue.running.sort(), [a.id, b.id].sort());
    assert.is((await waitForRun(s.url, a.id)).status, 'done');
    assert.is((await waitForRun(s.url, b.id)).status, 'done');
  } finally {
    await s.close();
  }
});

test.run();
