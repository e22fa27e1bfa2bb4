import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pngjs from 'pngjs';
import type { TesseraServer } from '../../core/server/createServer.ts';
import { Opcode, encodeFrame } from '../../core/server/websocket.ts';
import { TestSocket, call, graph, rejects, startServer, waitForRun, waitUntil } from './helpers.ts';

let server: TesseraServer;

test.before(async () => {
  server = await startServer();
});

test.after(async () => {
  await server.close();
});

const visual = graph({
  img: { type: 'servertest/Gradient', params: { width: 600, height: 300 } },
  heat: { type: 'servertest/Heat' },
  range: { type: 'core/Range', params: { start: 0, stop: 50, step: 1 } },
  sq: { type: 'core/ListMap', params: { op: 'multiply', operand: 2 }, inputs: { list: { node: 'range', output: 'list' } } },
  list: { type: 'servertest/Batch', inputs: { images: [{ node: 'img', output: 'image' }, { node: 'img', output: 'image' }] } },
});

test('stream: status first, then every event of a run in order, with image/heatmap/plot previews', async () => {
  const ws = await TestSocket.open(server.url, '/api/ws');
  try {
    const first = await ws.waitFor(() => true);
    assert.is(first.type, 'status');
    const id = (await call(server.url, 'POST', '/api/runs', { body: { graph: visual } })).json.run.id;
    await ws.waitFor((m) => m.type === 'event' && m.event.runId === id && m.event.type === 'run:done');
    const events = ws.messages.filter((m) => m.type === 'event' && m.event.runId === id).map((m) => m.event);
    assert.equal(events.map((e) => e.seq), events.map((_, i) => i));
    assert.is(events[0].type, 'run:start');
    // Images travel as summaries in events; the preview carries the picture.
    const out = events.find((e) => e.type === 'node:output' && e.nodeId === 'img');
    assert.match(out.outputs.image.$summary, /image 600×300×4/);
    const img = ws.messages.find((m) => m.type === 'preview' && m.nodeId === 'img');
    assert.is(img.kind, 'image');
    assert.is(img.width, 600);
    assert.is(img.port, 'image');
    const png = pngjs.PNG.sync.read(Buffer.from(img.src.replace(/^data:image\/png;base64,/, ''), 'base64'));
    assert.is(Math.max(png.width, png.height), 384, 'downsampled to at most 384 px');
    assert.is(png.height, 192);
    const heat = ws.messages.find((m) => m.type === 'preview' && m.nodeId === 'heat');
    assert.is(heat.kind, 'heatmap');
    assert.equal([heat.width, heat.height, heat.min, heat.max], [12, 8, 0, 77]);
    const batch = ws.messages.find((m) => m.type === 'preview' && m.nodeId === 'list');
    assert.equal([batch.kind, batch.count, batch.width], ['image', 2, 600]);
    const plot = ws.messages.find((m) => m.type === 'preview' && m.nodeId === 'sq');
    assert.is(plot.kind, 'plot');
    assert.is(plot.length, 50);
    assert.is(plot.max, 98);
    // The preview PNG is also a file of the run.
    await waitForRun(server.url, id);
    // The final run.json is written after the preview files (run.json exists from the queue on).
    await waitUntil(async () => (await call(server.url, 'GET', `/api/runs/${id}/files/run.json`)).json?.status === 'done');
    const file = await call(server.url, 'GET', `/api/runs/${id}/files/${img.file}`);
    assert.is(file.status, 200);
    assert.is(file.headers['content-type'], 'image/png');
    assert.ok(ws.messages.some((m) => m.type === 'run' && m.run.id === id && m.run.status === 'done'));
  } finally {
    ws.close();
  }
});

test('?run=<id> replays a finished run, then only that run', async () => {
  const id = (await call(server.url, 'POST', '/api/runs', { body: { graph: graph({ n: { type: 'core/Number', params: { value: 1 } } }) } })).json.run.id;
  await waitForRun(server.url, id);
  const ws = await TestSocket.open(server.url, `/api/ws?run=${id}`);
  try {
    await ws.waitFor((m) => m.type === 'event' && m.event.type === 'run:done');
    const other = (await call(server.url, 'POST', '/api/runs', { body: { graph: graph({ n: { type: 'core/Number', params: { value: 2 } } }) } })).json.run.id;
    await waitForRun(server.url, other);
    ws.send(JSON.stringify({ type: 'ping' }));
    await ws.waitFor((m) => m.type === 'pong');
    assert.not.ok(ws.messages.some((m) => m.type === 'event' && m.event.runId === other));
    await rejects(TestSocket.open(server.url, '/api/ws?run=nope'), /404/);
  } finally {
    ws.close();
  }
});

test('?run=<id> joined mid-run: replay and live events together have no gap and no duplicate', async () => {
  const id = (await call(server.url, 'POST', '/api/runs', { body: { graph: graph({ s: { type: 'servertest/Sleep', params: { ms: 300 } }, c: { type: 'core/CountStream', params: { count: 30, intervalMs: 5 } }, l: { type: 'core/Collect', inputs: { stream: { node: 'c', output: 'value' } } } }) } })).json.run.id;
  await waitUntil(async () => (await call(server.url, 'GET', `/api/runs/${id}`)).json.eventCount > 5);
  const ws = await TestSocket.open(server.url, `/api/ws?run=${id}`);
  try {
    await ws.waitFor((m) => m.type === 'event' && m.event.type === 'run:done');
    const seqs = ws.messages.filter((m) => m.type === 'event').map((m) => m.event.seq);
    assert.equal(seqs, seqs.map((_, i) => i));
  } finally {
    ws.close();
  }
});

test('handshake checks: cross-origin refused, wrong path 404, same origin accepted', async () => {
  await rejects(TestSocket.open(server.url, '/api/ws', { Origin: 'https://evil.example' }), /403/);
  await rejects(TestSocket.open(server.url, '/api/other'), /404/);
  const ok = await TestSocket.open(server.url, '/api/ws', { Origin: server.url.replace(/\/$/, '') });
  ok.close();
});

test('protocol errors close the socket (unmasked client frame → 1002)', async () => {
  const ws = await TestSocket.open(server.url, '/api/ws');
  await ws.waitFor((m) => m.type === 'status');
  ws.sendRaw(encodeFrame(Opcode.text, 'hi'));
  await new Promise((r) => setTimeout(r, 100));
  assert.is(ws.closeCode, 1002);
});

test('oversized client messages close with 1009; aborted handshakes leave the server up', async () => {
  const ws = await TestSocket.open(server.url, '/api/ws');
  await ws.waitFor((m) => m.type === 'status');
  ws.send('x'.repeat(70 * 1024));
  for (let i = 0; i < 100 && ws.closeCode === undefined; i++) await new Promise((r) => setTimeout(r, 10));
  assert.is(ws.closeCode, 1009);
  const net = await import('node:net');
  const url = new URL(server.url);
  for (let i = 0; i < 5; i++) {
    await new Promise<void>((resolve) => {
      const sock = net.connect(Number(url.port), url.hostname, () => {
        sock.write(`GET /api/ws HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`);
        sock.resetAndDestroy();
        resolve();
      });
    });
  }
  assert.is((await call(server.url, 'GET', '/api/health')).status, 200);
});

test('a client that vanishes mid-run does not affect the run', async () => {
  const ws = await TestSocket.open(server.url, '/api/ws');
  const id = (await call(server.url, 'POST', '/api/runs', { body: { graph: graph({ s: { type: 'servertest/Sleep', params: { ms: 300 } } }) } })).json.run.id;
  await ws.waitFor((m) => m.type === 'event' && m.event.type === 'node:progress');
  ws.destroy();
  const run = await waitForRun(server.url, id);
  assert.is(run.status, 'done');
  // A client that posts a run and hangs up before the reply: the run still happens.
  const net = await import('node:net');
  const body = JSON.stringify({ graph: graph({ s: { type: 'servertest/Sleep', params: { ms: 50 } } }), label: 'hangup' });
  const url = new URL(server.url);
  await new Promise<void>((resolve) => {
    const sock = net.connect(Number(url.port), url.hostname, () => {
      sock.end(`POST /api/runs HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      sock.destroy();
      resolve();
    });
  });
  let hung: any;
  for (let i = 0; i < 200 && !hung; i++) {
    hung = (await call(server.url, 'GET', '/api/runs')).json.runs.find((r: any) => r.label === 'hangup');
    if (!hung) await new Promise((r) => setTimeout(r, 10));
  }
  if (hung) assert.is((await waitForRun(server.url, hung.id)).status, 'done');
});

test.run();
