import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine } from 'tessera';
import { createServer, type TesseraServer } from '../../core/server/createServer.ts';
import { main } from '../../app/main.ts';
import { isLoopback } from '../../core/server/auth.ts';
import { TestSocket, call, rejects, startServer, tempWorkspace } from './helpers.ts';

const TOKEN = 's3cret-token';

let server: TesseraServer;
let base: string;

test.before(async () => {
  // A non-loopback bind; the tests only ever connect through 127.0.0.1.
  server = await startServer({ host: '0.0.0.0', token: TOKEN });
  base = `http://127.0.0.1:${server.port}/`;
});

test.after(async () => {
  await server.close();
});

test('loopback detection', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) assert.ok(isLoopback(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.com', '128.0.0.1']) assert.not.ok(isLoopback(h), h);
});

test('binding a non-loopback address without a token is refused', async () => {
  const engine = await createEngine();
  assert.throws(() => createServer({ engine, host: '0.0.0.0', port: 0, ui: false, workspace: tempWorkspace() }), /token/);
});

test('every request must carry the token', async () => {
  const none = await call(base, 'GET', '/api/health');
  assert.is(none.status, 401);
  assert.is(none.json.error, 'unauthorized');
  assert.is((await call(base, 'GET', '/api/health', { headers: { Authorization: 'Bearer wrong' } })).status, 401);
  assert.is((await call(base, 'GET', '/api/nodes', { headers: { Authorization: `Bearer ${TOKEN}` } })).status, 200);
  assert.is((await call(base, 'GET', '/api/nodes', { headers: { 'X-Tessera-Token': TOKEN } })).status, 200);
  assert.is((await call(base, 'POST', '/api/validate', { body: { graph: { nodes: {} } } })).status, 401);
  // Query tokens only for GET (page loads, images) and WebSockets; they set a cookie for the page's assets.
  const q = await call(base, 'GET', `/api/health?token=${TOKEN}`);
  assert.is(q.status, 200);
  const cookie = String(q.headers['set-cookie']);
  assert.match(cookie, /tessera_token=/);
  assert.match(cookie, /HttpOnly/);
  assert.is((await call(base, 'POST', `/api/validate?token=${TOKEN}`, { body: { graph: { nodes: {} } } })).status, 401);
  assert.is((await call(base, 'GET', '/api/health', { headers: { Cookie: cookie.split(';')[0]! } })).status, 200);
  // With a token, any Host name is fine (that is what the token is for).
  assert.is((await call(base, 'GET', '/api/health', { headers: { Host: 'tessera.lan', Authorization: `Bearer ${TOKEN}` } })).status, 200);
});

test('WebSocket needs the token too', async () => {
  await rejects(TestSocket.open(base, '/api/ws'), /401/);
  await rejects(TestSocket.open(base, '/api/ws?token=nope'), /401/);
  const ws = await TestSocket.open(base, `/api/ws?token=${TOKEN}`);
  assert.is((await ws.waitFor(() => true)).type, 'status');
  ws.close();
});

/** A CliIo that collects what the command writes. */
function captureIo() {
  let out = '';
  const sink = { write: (chunk: string | Uint8Array) => ((out += String(chunk)), true) } as unknown as NodeJS.WritableStream;
  return { io: { stdout: sink, stderr: sink }, text: () => out };
}

test('tessera serve: refuses 0.0.0.0 without a token (exit 2); serves until SIGINT, then exits 0', async () => {
  const refused = captureIo();
  assert.is(await main(['serve', '--host', '0.0.0.0', '--port', '0'], refused.io), 2);
  assert.match(refused.text(), /token/);
  const running = captureIo();
  const before = process.listenerCount('SIGINT');
  const done = main(['serve', '--port', '0', '--workspace', tempWorkspace()], running.io);
  let url: string | undefined;
  for (let i = 0; i < 500 && !url; i++) {
    url = /serving (http:\/\/\S+)/.exec(running.text())?.[1];
    if (!url) await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(url, running.text());
  assert.is((await call(url!, 'GET', '/api/health')).status, 200);
  assert.is(process.listenerCount('SIGINT'), before + 1);
  process.emit('SIGINT');
  assert.is(await done, 0);
  assert.is(process.listenerCount('SIGINT'), before);
});

test.run();
