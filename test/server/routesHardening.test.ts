import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, createLogger } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { createServer, type TesseraServer } from '../../core/server/createServer.ts';
import { INTERNAL_ERROR_MESSAGE, MAX_BODY_DEPTH } from '../../core/server/http.ts';
import { Workspace } from '../../core/services/Workspace.ts';
import { call, graph, serverTestPlugin, startServer, tempWorkspace, waitForRun } from './helpers.ts';

// Issue 11, server side: cancel needs the same origin checks as other POSTs; graph file routes
// stay inside graphs/ after symlinks; no request body can produce a 500; an unexpected error in
// a route is a generic 500 that is logged, and the server keeps answering.

let server: TesseraServer;
let base: string;
const workspace = tempWorkspace();
const outside = tempWorkspace('tessera-outside-');

test.before(async () => {
  mkdirSync(join(workspace, 'graphs'));
  writeFileSync(join(outside, 'secret.json'), '{"secret":true}\n');
  symlinkSync(outside, join(workspace, 'graphs/linkdir'));
  symlinkSync(join(outside, 'made-by-link.json'), join(workspace, 'graphs/dangling.json'));
  symlinkSync('loop.json', join(workspace, 'graphs/loop.json'));
  server = await startServer({ workspace });
  base = server.url;
});

test.after(async () => {
  await server.close();
});

const sleepy = graph({ s: { type: 'servertest/Sleep', params: { ms: 1500 } } });
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

test('a cross-origin form POST cannot cancel a run; same-origin and header-less clients can', async () => {
  const id = (await call(base, 'POST', '/api/runs', { body: { graph: sleepy } })).json.run.id;
  for (const headers of [
    { ...FORM, Origin: 'https://evil.example' },
    { ...FORM, Origin: 'null' },
    { ...FORM, Origin: `http://localhost:${server.port + 1}` },
    { ...FORM, 'Sec-Fetch-Site': 'cross-site' },
  ]) {
    const r = await call(base, 'POST', `/api/runs/${id}/cancel`, { raw: 'x=1', headers });
    assert.is(r.status, 403, `${JSON.stringify(headers)}: ${r.text}`);
    assert.is(r.json.error, 'forbidden');
  }
  assert.ok(['queued', 'running'].includes((await call(base, 'GET', `/api/runs/${id}`)).json.status), 'still going');
  // Other POSTs get the same check (they already needed JSON, which browsers preflight).
  const post = await call(base, 'POST', '/api/validate', { body: { graph: sleepy }, headers: { Origin: 'https://evil.example' } });
  assert.is(post.status, 403);
  const own = await call(base, 'POST', `/api/runs/${id}/cancel`, { headers: { Origin: base.replace(/\/$/, '') } });
  assert.is(own.status, 202, own.text);
  assert.is((await waitForRun(base, id)).status, 'cancelled');
  // curl and the CLI send no Origin.
  const id2 = (await call(base, 'POST', '/api/runs', { body: { graph: sleepy } })).json.run.id;
  assert.is((await call(base, 'POST', `/api/runs/${id2}/cancel`)).status, 202);
  await waitForRun(base, id2);
});

test('PUT through a symlinked folder or a dangling link out of graphs/ is refused; nothing is written outside', async () => {
  const doc = graph({ n: { type: 'core/Number', params: { value: 1 } } });
  const viaDir = await call(base, 'PUT', '/api/graphs/linkdir/x.json', { body: doc });
  assert.is(viaDir.status, 403, viaDir.text);
  assert.is(viaDir.json.error, 'forbidden');
  assert.not.ok(existsSync(join(outside, 'x.json')), 'no file written outside the workspace');
  // Overwriting an existing outside file through the link, and creating a link's target.
  assert.is((await call(base, 'PUT', '/api/graphs/linkdir/secret.json', { body: doc })).status, 403);
  assert.is(readFileSync(join(outside, 'secret.json'), 'utf8'), '{"secret":true}\n');
  const dangling = await call(base, 'PUT', '/api/graphs/dangling.json', { body: doc });
  assert.is(dangling.status, 403);
  assert.not.ok(existsSync(join(outside, 'made-by-link.json')));
  // The refusal reads the same whether or not the outside file exists (no probing).
  assert.is(dangling.json.message.replace('dangling.json', 'P'), viaDir.json.message.replace('linkdir/x.json', 'P'));
  // A link to itself: refused the same way, not a 500.
  assert.is((await call(base, 'PUT', '/api/graphs/loop.json', { body: doc })).status, 403);
  assert.is((await call(base, 'GET', '/api/graphs/loop.json')).status, 404);
  // Reads through the link are refused too.
  assert.is((await call(base, 'GET', '/api/graphs/linkdir/secret.json')).status, 404);
  // Ordinary saves still work, nested folders included.
  const ok = await call(base, 'PUT', '/api/graphs/sub/ok.json', { body: doc });
  assert.is(ok.status, 200, ok.text);
  assert.equal(JSON.parse(readFileSync(join(workspace, 'graphs/sub/ok.json'), 'utf8')), doc);
  assert.is((await call(base, 'GET', '/api/graphs/sub/ok.json')).status, 200);
  // A path through a file is a conflict, not a 500.
  const through = await call(base, 'PUT', '/api/graphs/sub/ok.json/x.json', { body: doc });
  assert.is(through.status, 409, through.text);
});

test('bodies nested too deep are a 400 with the limit, never a 500', async () => {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const headers = { 'Content-Type': 'application/json' };
  for (const [method, path] of [['POST', '/api/validate'], ['POST', '/api/runs'], ['PUT', '/api/graphs/deep.json']] as const) {
    // 200k levels (the repro) and just over the limit inside a graph's params.
    for (const raw of [deep(200_000), `{"graph":{"format":"tessera-graph","version":1,"nodes":{"a":{"type":"core/Json","params":{"value":${deep(MAX_BODY_DEPTH)}}}}}}`]) {
      const r = await call(base, method, path, { raw, headers });
      assert.is(r.status, 400, `${method} ${path}: ${r.status} ${r.text.slice(0, 200)}`);
      assert.is(r.json.error, 'invalid_json');
      assert.match(r.json.message, new RegExp(`deeper than ${MAX_BODY_DEPTH} levels`));
    }
  }
  // Brackets inside strings are text, not nesting.
  const inString = await call(base, 'POST', '/api/validate', { body: { graph: graph({ n: { type: 'core/Number', params: { value: 1 } } }), }, headers: {} });
  assert.is(inString.status, 200);
  const text = await call(base, 'POST', '/api/validate', { raw: JSON.stringify({ graph: { ...graph({}), name: deep(5000) } }), headers });
  assert.not.equal(text.json?.error, 'invalid_json', text.text.slice(0, 200));
  assert.ok(text.status < 500);
  // Within the body limit but deeper than a graph may be: the engine's structured issue, not a 500.
  const graphDeep = await call(base, 'POST', '/api/validate', { raw: `{"graph":{"format":"tessera-graph","version":1,"nodes":{"a":{"type":"core/Number","params":{"value":${deep(MAX_BODY_DEPTH - 8)}}}}}}`, headers });
  assert.is(graphDeep.status, 200, graphDeep.text.slice(0, 300));
  assert.is(graphDeep.json.valid, false);
});

test('a 1 MB string where "inputs" belongs: a bounded answer, not a 500', async () => {
  const body = JSON.stringify({ graph: graph({ a: { type: 'core/Number', inputs: 'x'.repeat(1024 * 1024) } }) });
  for (const path of ['/api/validate', '/api/runs']) {
    const r = await call(base, 'POST', path, { raw: body, headers: { 'Content-Type': 'application/json' } });
    assert.ok(r.status === 200 || r.status === 400, `${path}: ${r.status} ${r.text.slice(0, 200)}`);
    assert.ok(r.text.length < 256 * 1024, `${path}: answer is ${r.text.length} bytes`);
    assert.ok(r.json.issues.length <= 201, `${path}: ${r.json.issues.length} issues`);
  }
});

test('node ids like "__proto__" come back as data in nodeErrors, and later requests still work', async () => {
  const r = await call(base, 'POST', '/api/runs', { raw: '{"graph":{"format":"tessera-graph","version":1,"nodes":{"__proto__":{"type":"core/Nope"}}}}', headers: { 'Content-Type': 'application/json' } });
  assert.is(r.status, 400, r.text);
  assert.ok(Object.hasOwn(r.json.nodeErrors, '__proto__'), r.text);
  const ok = await call(base, 'POST', '/api/validate', { body: { graph: graph({ n: { type: 'core/Number', params: { value: 1 } } }) } });
  assert.is(ok.status, 200, ok.text);
  assert.is(ok.json.valid, true);
});

test('an unexpected error in a route is a generic 500, logged with its details; the server keeps answering', async () => {
  const logged: string[] = [];
  const engine = await createEngine({ plugins: [...builtinPlugins, serverTestPlugin], logger: createLogger((level, message) => logged.push(`${level} ${message}`)) });
  const broken = await createServer({ engine, host: '127.0.0.1', port: 0, ui: false, workspace: tempWorkspace() }).listen();
  try {
    // A fault inside the engine (here: validation itself throwing) stands for any bug in a route.
    engine.validate = () => {
      throw new Error('secret detail /etc/internal/path');
    };
    const r = await call(broken.url, 'POST', '/api/validate', { body: { graph: graph({}) } });
    assert.is(r.status, 500);
    assert.equal(r.json, { error: 'internal', message: INTERNAL_ERROR_MESSAGE });
    assert.not.match(r.text, /secret detail/);
    assert.ok(logged.some((l) => l.startsWith('error POST /api/validate') && l.includes('secret detail')), logged.join('\n'));
    assert.is((await call(broken.url, 'GET', '/api/health')).status, 200);
  } finally {
    await broken.close();
  }
});

test('the server gives its engine the workspace boundary (never lifted)', async () => {
  const ws = server.engine.workspace;
  assert.ok(ws instanceof Workspace);
  assert.is(ws.root, workspace);
  assert.is(ws.allowOutside, false);
  const r = await call(base, 'POST', '/api/validate', { body: { graph: graph({ m: { type: 'mosaic/Model', params: { checkpoint: '/etc/shadow' } } }) } });
  assert.is(r.status, 200);
  assert.ok(r.json.issues.some((i: any) => i.code === 'path_outside_workspace'), r.text.slice(0, 500));
});

test.run();
