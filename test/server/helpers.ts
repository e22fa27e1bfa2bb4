import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, createLogger, defineNode, definePlugin } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { createServer, type ServerOptions, type TesseraServer } from '../../core/server/createServer.ts';
import { FrameDecoder, Opcode, acceptKey, encodeFrame } from '../../core/server/websocket.ts';

/** Nodes the server tests need besides the built-ins: images, heatmaps, slow and failing nodes. */
export const serverTestPlugin = definePlugin({
  name: 'servertest',
  version: '1.0.0',
  nodes: [
    defineNode({
      type: 'servertest/Gradient', title: 'Gradient image', category: 'test', description: 'An RGBA gradient image.', version: '1.0.0',
      inputs: {}, outputs: { image: { type: 'IMAGE' } },
      params: { type: 'object', properties: { width: { type: 'integer', minimum: 1, default: 64 }, height: { type: 'integer', minimum: 1, default: 48 } }, additionalProperties: false },
      execute: ({ params }) => {
        const { width, height } = params as { width: number; height: number };
        const data = new Uint8Array(width * height * 4);
        for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([Math.round((x / width) * 255), Math.round((y / height) * 255), 128, 255], (y * width + x) * 4);
        return { image: { width, height, channels: 4 as const, data } };
      },
    }),
    defineNode({
      type: 'servertest/Batch', title: 'Batch', category: 'test', description: 'Lists the images wired in.', version: '1.0.0',
      inputs: { images: { type: 'IMAGE', list: true } }, outputs: { images: { type: 'JSON' } },
      execute: ({ inputs }) => ({ images: inputs.images }),
    }),
    defineNode({
      type: 'servertest/Heat', title: 'Heatmap', category: 'test', description: 'A 2-D grid of numbers.', version: '1.0.0',
      inputs: {}, outputs: { grid: { type: 'JSON' } },
      execute: () => ({ grid: Array.from({ length: 8 }, (_, y) => Array.from({ length: 12 }, (_, x) => x * y)) }),
    }),
    defineNode({
      type: 'servertest/Sleep', title: 'Sleep', category: 'test', description: 'Waits, reporting progress; cancellable.', version: '1.0.0',
      inputs: { value: { type: 'ANY', optional: true } }, outputs: { value: { type: 'ANY' } },
      params: { type: 'object', properties: { ms: { type: 'number', minimum: 0, default: 100 } }, additionalProperties: false },
      cache: 'never',
      async execute({ inputs, params, signal, progress }) {
        const ms = (params as { ms: number }).ms;
        const steps = 10;
        for (let i = 0; i < steps; i++) {
          await new Promise<void>((resolve, reject) => {
            const t = setTimeout(resolve, ms / steps);
            signal.addEventListener('abort', () => {
              clearTimeout(t);
              reject(signal.reason);
            }, { once: true });
          });
          progress(i + 1, steps);
        }
        return { value: inputs.value ?? null };
      },
    }),
    defineNode({
      type: 'servertest/PickFile', title: 'Pick file', category: 'test', description: 'Outputs a workspace file path chosen in the editor.', version: '1.0.0',
      inputs: {}, outputs: { path: { type: 'STRING' } },
      params: { type: 'object', properties: { file: { type: 'string', 'x-widget': 'file:.json', default: '' } }, additionalProperties: false },
      execute: ({ params }) => ({ path: (params as { file: string }).file }),
    }),
    defineNode({
      type: 'servertest/Fail', title: 'Fail', category: 'test', description: 'Throws.', version: '1.0.0',
      inputs: { value: { type: 'ANY', optional: true } }, outputs: { value: { type: 'ANY' } },
      params: { type: 'object', properties: { message: { type: 'string', default: 'boom' } }, additionalProperties: false },
      cache: 'never',
      execute: ({ params }) => {
        throw new Error((params as { message: string }).message);
      },
    }),
  ],
});

const temps: string[] = [];
// Run folders (datasets included) would pile up in /tmp otherwise.
process.once('exit', () => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A fresh workspace folder for one server, removed when the test process exits. */
export function tempWorkspace(prefix = 'tessera-server-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** Starts a real server on an ephemeral loopback port (API only unless `ui` is set). */
export async function startServer(options: Partial<ServerOptions> = {}): Promise<TesseraServer> {
  // Node warnings (e.g. metrics scoring ground truth) still reach clients as node:log events; keep test output clean.
  const engine = await createEngine({ plugins: [...builtinPlugins, serverTestPlugin], logger: createLogger(() => undefined) });
  return createServer({ engine, host: '127.0.0.1', port: 0, ui: false, workspace: tempWorkspace(), ...options }).listen();
}

/** Wraps nodes as a graph document. */
export function graph(nodes: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { format: 'tessera-graph', version: 1, ...extra, nodes };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/**
 * One HTTP request with full control over method, raw path, headers and body (fetch would
 * normalise `..` in paths, which the traversal tests must send as written).
 */
export function call(base: string, method: string, path: string, options: { body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Reply> {
  const url = new URL(base);
  const data = options.raw !== undefined ? options.raw : options.body !== undefined ? JSON.stringify(options.body) : undefined;
  const headers: Record<string, string> = { ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...(options.headers ?? {}) };
  if (data !== undefined) headers['Content-Length'] = String(Buffer.byteLength(data));
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

/** Polls a run until it leaves the queue (bounded). */
export async function waitForRun(base: string, id: string, headers: Record<string, string> = {}, timeoutMs = 10_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await call(base, 'GET', `/api/runs/${id}`, { headers });
    if (['done', 'failed', 'cancelled'].includes(r.json?.status)) return r.json;
    if (Date.now() > deadline) throw new Error(`run ${id} still ${r.json?.status} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** Polls until a predicate on the run holds (bounded). */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((res) => setTimeout(res, 15));
  }
}

/** A minimal WebSocket client over node:net (Node 20 has no global WebSocket). */
export class TestSocket {
  readonly messages: any[] = [];
  closed = false;
  closeCode?: number;
  #waiters: (() => void)[] = [];
  private constructor(/** The raw TCP socket (pause/resume and flood tests). */ readonly socket: import('node:net').Socket) {}

  /** Opens `/api/ws…`; resolves with the socket or rejects with the HTTP status line. */
  static open(base: string, path: string, headers: Record<string, string> = {}): Promise<TestSocket> {
    const url = new URL(base);
    const key = randomBytes(16).toString('base64');
    return new Promise((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname);
      let head = Buffer.alloc(0);
      let ws: TestSocket | undefined;
      const decoder = new FrameDecoder(64 * 1024 * 1024, false);
      socket.on('data', (chunk: Buffer) => {
        if (!ws) {
          head = Buffer.concat([head, chunk]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          const status = head.subarray(0, end).toString();
          if (!status.startsWith('HTTP/1.1 101') || !status.includes(acceptKey(key))) {
            socket.destroy();
            reject(new Error(status.split('\r\n')[0]));
            return;
          }
          ws = new TestSocket(socket);
          resolve(ws);
          chunk = head.subarray(end + 4);
        }
        for (const f of decoder.push(chunk)) {
          if (f.opcode === Opcode.text) ws.messages.push(JSON.parse(f.payload.toString('utf8')));
          if (f.opcode === Opcode.close) {
            ws.closed = true;
            ws.closeCode = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : undefined;
          }
        }
        for (const w of ws.#waiters.splice(0)) w();
      });
      socket.on('close', () => {
        if (ws) {
          ws.closed = true;
          for (const w of ws.#waiters.splice(0)) w();
        }
      });
      socket.on('error', reject);
      socket.write([`GET ${path} HTTP/1.1`, `Host: ${url.host}`, 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${key}`, 'Sec-WebSocket-Version: 13', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n'));
    });
  }

  send(text: string): void {
    this.socket.write(encodeFrame(Opcode.text, text, randomBytes(4)));
  }

  /** Writes raw bytes (protocol-violation tests). */
  sendRaw(data: Buffer): void {
    this.socket.write(data);
  }

  /** Waits until a message matches (bounded). */
  async waitFor(predicate: (m: any) => boolean, timeoutMs = 5000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.messages.find(predicate);
      if (hit) return hit;
      if (this.closed) throw new Error('socket closed while waiting');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message in ${timeoutMs} ms (got ${this.messages.map((m) => m.type + (m.event ? ':' + m.event.type : '')).join(', ')})`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Drops the TCP connection without a closing handshake (a vanished client). */
  destroy(): void {
    this.socket.destroy();
  }

  close(): void {
    this.socket.end(encodeFrame(Opcode.close, Buffer.from([0x03, 0xe8]), randomBytes(4)));
  }
}

/** Asserts that a promise rejects with a message matching `pattern` (uvu has no async throws). */
export async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (!pattern.test((error as Error).message)) throw new Error(`rejected with "${(error as Error).message}", expected ${pattern}`);
    return;
  }
  throw new Error(`expected a rejection matching ${pattern}`);
}
