import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { TesseraServer } from '../../core/server/createServer.ts';
import { FrameDecoder, Opcode, acceptKey, encodeFrame } from '../../core/server/websocket.ts';
import { TestSocket, call, startServer, waitUntil } from './helpers.ts';

// The WebSocket limits of docs/api.md ("Limits"), each tried the way the issue-11 repros did.
// Timeouts are shortened here so the tests are quick; the bounds asserted stay generous.

let server: TesseraServer;
const FRAME_TIMEOUT_MS = 400;
const IDLE_TIMEOUT_MS = 1500;
const MAX_BUFFERED = 64 * 1024;

test.before(async () => {
  server = await startServer({ webSocket: { frameTimeoutMs: FRAME_TIMEOUT_MS, idleTimeoutMs: IDLE_TIMEOUT_MS, maxBuffered: MAX_BUFFERED } });
});

test.after(async () => {
  await server.close();
});

const mask = () => randomBytes(4);

/** Opens a socket and waits for the server's first message (so the connection is fully up). */
async function open(): Promise<TestSocket> {
  const ws = await TestSocket.open(server.url, '/api/ws');
  await ws.waitFor((m) => m.type === 'status');
  return ws;
}

/** Waits (bounded) until the server has closed the socket; returns the close code it sent. */
async function closedBy(ws: TestSocket, timeoutMs = 5000): Promise<number | undefined> {
  await waitUntil(async () => ws.closed, timeoutMs);
  return ws.closeCode;
}

test('a fragmented message is capped at 64 KiB in all (close 1009); a small one still works', async () => {
  const ok = await open();
  try {
    ok.sendRaw(encodeFrame(Opcode.text, '{"type":', mask(), false));
    ok.sendRaw(encodeFrame(Opcode.continuation, '"pi', mask(), false));
    ok.sendRaw(encodeFrame(Opcode.continuation, 'ng"}', mask(), true));
    await ok.waitFor((m) => m.type === 'pong');
  } finally {
    ok.close();
  }
  // Before: continuation frames of 32 KiB each were accepted up to 100 MiB.
  const ws = await open();
  ws.sendRaw(encodeFrame(Opcode.text, 'x'.repeat(32 * 1024), mask(), false));
  for (let i = 0; i < 8; i++) ws.sendRaw(encodeFrame(Opcode.continuation, 'x'.repeat(32 * 1024), mask(), false));
  assert.is(await closedBy(ws), 1009);
});

test('control frames: over 125 bytes or fragmented close with 1002', async () => {
  const big = await open();
  big.sendRaw(encodeFrame(Opcode.ping, Buffer.alloc(126), mask()));
  assert.is(await closedBy(big), 1002);
  const huge = await open();
  huge.sendRaw(encodeFrame(Opcode.ping, Buffer.alloc(64 * 1024), mask()));
  assert.is(await closedBy(huge), 1002);
  const fragmented = await open();
  fragmented.sendRaw(encodeFrame(Opcode.ping, 'hi', mask(), false));
  assert.is(await closedBy(fragmented), 1002);
  // 125 bytes is allowed: the socket stays and still answers.
  const max = await open();
  try {
    max.sendRaw(encodeFrame(Opcode.ping, Buffer.alloc(125), mask()));
    max.send(JSON.stringify({ type: 'ping' }));
    await max.waitFor((m) => m.type === 'pong');
    assert.not.ok(max.closed);
  } finally {
    max.close();
  }
});

test('other protocol violations: stray continuation, interleaved message, reserved bits, bad close code (1002), bad UTF-8 (1007)', async () => {
  const cases: [string, Buffer, number][] = [
    ['continuation without a message', encodeFrame(Opcode.continuation, 'x', mask()), 1002],
    ['text frame inside a fragmented message', Buffer.concat([encodeFrame(Opcode.text, 'a', mask(), false), encodeFrame(Opcode.text, 'b', mask())]), 1002],
    ['reserved bit', (() => { const f = encodeFrame(Opcode.text, 'x', mask()); f[0]! |= 0x40; return f; })(), 1002],
    ['reserved opcode', (() => { const f = encodeFrame(Opcode.text, 'x', mask()); f[0] = 0x80 | 0x3; return f; })(), 1002],
    ['close code 1005 on the wire', encodeFrame(Opcode.close, Buffer.from([0x03, 0xed]), mask()), 1002],
    ['invalid UTF-8 text', encodeFrame(Opcode.text, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), mask()), 1007],
  ];
  for (const [what, bytes, code] of cases) {
    const ws = await open();
    ws.sendRaw(bytes);
    assert.is(await closedBy(ws), code, what);
  }
  assert.is((await call(server.url, 'GET', '/api/health')).status, 200);
});

test('pongs count against the slow-client cap: a ping flood from a client that never reads is dropped', async () => {
  const ws = await open();
  // The client stops reading; every pong the server owes it piles up on the server side.
  ws.socket.pause();
  const ping = encodeFrame(Opcode.ping, Buffer.alloc(125, 1), mask());
  // ~17 MiB of pongs owed: far beyond the cap plus what loopback socket buffers can absorb.
  const flood = Buffer.concat(Array.from({ length: 140_000 }, () => ping));
  const before = process.memoryUsage().rss;
  await new Promise<void>((resolve) => ws.socket.write(flood, () => resolve()));
  ws.socket.resume();
  const code = await closedBy(ws, 10_000);
  // Either the close frame came through (1008) or the socket was torn down after it.
  if (code !== undefined) assert.is(code, 1008);
  // Before: the server kept every pong (RSS 253 → 458 MB for 64 KiB pings).
  assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024, 'server memory stays bounded');
  assert.is((await call(server.url, 'GET', '/api/health')).status, 200);
});

test('a half-sent frame, or a fragmented message never finished, times out (close 1008)', async () => {
  const half = await open();
  half.sendRaw(encodeFrame(Opcode.text, '{"type":"ping"}', mask()).subarray(0, 5));
  const t0 = Date.now();
  assert.is(await closedBy(half), 1008);
  assert.ok(Date.now() - t0 >= FRAME_TIMEOUT_MS / 2, 'not closed before the timeout');
  const unfinished = await open();
  unfinished.sendRaw(encodeFrame(Opcode.text, '{"type":', mask(), false));
  assert.is(await closedBy(unfinished), 1008);
});

test('a silent client is pinged, then closed after the idle timeout; one that answers stays', async () => {
  const silent = await open();
  const alive = await open();
  try {
    // `alive` answers like a browser would (TestSocket ignores pings, so pong on a timer).
    const answer = setInterval(() => alive.sendRaw(encodeFrame(Opcode.pong, '', mask())), 100);
    try {
      assert.is(await closedBy(silent, IDLE_TIMEOUT_MS * 4), 1001);
    } finally {
      clearInterval(answer);
    }
    assert.not.ok(alive.closed, 'a client that keeps talking is not idle');
  } finally {
    alive.close();
  }
});

test('frames sent in the same packet as the handshake are read', async () => {
  const url = new URL(server.url);
  const key = randomBytes(16).toString('base64');
  const handshake = [`GET /api/ws HTTP/1.1`, `Host: ${url.host}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13', '', ''].join('\r\n');
  const messages: any[] = [];
  await new Promise<void>((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const decoder = new FrameDecoder(1024 * 1024, false);
    let head = Buffer.alloc(0);
    let upgraded = false;
    const timer = setTimeout(() => reject(new Error(`no pong; got ${JSON.stringify(messages)}`)), 5000);
    socket.on('data', (chunk: Buffer) => {
      if (!upgraded) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        assert.ok(head.subarray(0, end).toString().includes(acceptKey(key)));
        upgraded = true;
        chunk = head.subarray(end + 4);
      }
      for (const f of decoder.push(chunk)) if (f.opcode === Opcode.text) messages.push(JSON.parse(f.payload.toString()));
      if (messages.some((m) => m.type === 'pong')) {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      }
    });
    socket.on('error', reject);
    socket.write(Buffer.concat([Buffer.from(handshake), encodeFrame(Opcode.text, '{"type":"ping"}', mask())]));
  });
});

test.run();
