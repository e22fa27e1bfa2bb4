import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

// RFC 6455 over node:http's `upgrade` event. No ws package is installed and the server only needs
// JSON text messages out and small control/text frames in, so a compact codec is enough.

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Frame opcodes (RFC 6455 §5.2). */
export const Opcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** One decoded frame. */
export interface Frame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Buffer;
}

/** The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`. */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/**
 * Encodes one frame. Servers send unmasked frames; clients (tests) pass `mask` because RFC 6455
 * requires every client-to-server frame to be masked.
 */
export function encodeFrame(opcode: number, payload: Buffer | string, mask?: Buffer): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const len = data.length;
  const lenBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + lenBytes + (mask ? 4 : 0));
  head[0] = 0x80 | opcode;
  head[1] = (mask ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127);
  if (lenBytes === 2) head.writeUInt16BE(len, 2);
  else if (lenBytes === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, data]);
  mask.copy(head, 2 + lenBytes);
  const body = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) body[i] = data[i]! ^ mask[i & 3]!;
  return Buffer.concat([head, body]);
}

/**
 * Incremental frame decoder: feed it socket chunks, get whole frames back. Throws (a protocol
 * error the caller answers with close 1002/1009) on oversized or malformed frames.
 */
export class FrameDecoder {
  #buffer: Buffer = Buffer.alloc(0);

  constructor(
    private readonly maxPayload: number,
    /** Servers insist on masked input; clients on unmasked input. */
    private readonly expectMasked: boolean,
  ) {}

  push(chunk: Buffer): Frame[] {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    const frames: Frame[] = [];
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) break;
      const masked = (b[1]! & 0x80) !== 0;
      if (masked !== this.expectMasked) throw new WebSocketProtocolError(1002, masked ? 'unexpected masked frame' : 'client frames must be masked');
      let len = b[1]! & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (b.length < 4) break;
        len = b.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (b.length < 10) break;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(this.maxPayload)) throw new WebSocketProtocolError(1009, 'frame too large');
        len = Number(big);
        offset = 10;
      }
      if (len > this.maxPayload) throw new WebSocketProtocolError(1009, 'frame too large');
      const maskLen = masked ? 4 : 0;
      if (b.length < offset + maskLen + len) break;
      let payload = b.subarray(offset + maskLen, offset + maskLen + len);
      if (masked) {
        const mask = b.subarray(offset, offset + 4);
        const out = Buffer.allocUnsafe(len);
        for (let i = 0; i < len; i++) out[i] = payload[i]! ^ mask[i & 3]!;
        payload = out;
      } else payload = Buffer.from(payload);
      frames.push({ fin: (b[0]! & 0x80) !== 0, opcode: b[0]! & 0x0f, payload });
      this.#buffer = b.subarray(offset + maskLen + len);
    }
    return frames;
  }
}

/** A WebSocket protocol violation, with the close code to answer it with. */
export class WebSocketProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Options of {@link acceptWebSocket}. */
export interface WebSocketOptions {
  /** Largest message accepted from the client (default 64 KiB: it only sends small commands). */
  readonly maxPayload?: number;
  /** Bytes queued for a client before it counts as too slow and is dropped (default 16 MiB). */
  readonly maxBuffered?: number;
}

/**
 * A server-side WebSocket connection carrying JSON text messages. A slow or vanished client is
 * dropped; that never blocks the sender (the run that produces the events).
 */
export class WebSocketConnection {
  readonly #socket: Duplex;
  readonly #maxBuffered: number;
  #closed = false;
  #fragments: Buffer[] = [];
  #fragmentOpcode = 0;
  readonly #messageListeners: ((text: string) => void)[] = [];
  readonly #closeListeners: (() => void)[] = [];

  constructor(socket: Duplex, options: WebSocketOptions = {}) {
    this.#socket = socket;
    this.#maxBuffered = options.maxBuffered ?? 16 * 1024 * 1024;
    const decoder = new FrameDecoder(options.maxPayload ?? 64 * 1024, true);
    socket.on('data', (chunk: Buffer) => {
      if (this.#closed) return;
      try {
        for (const frame of decoder.push(chunk)) this.#onFrame(frame);
      } catch (error) {
        const e = error as WebSocketProtocolError;
        this.close(e.code ?? 1002, e.message);
      }
    });
    const gone = () => this.#markClosed();
    socket.on('close', gone);
    socket.on('end', gone);
    socket.on('error', gone);
  }

  get closed(): boolean {
    return this.#closed;
  }

  onMessage(listener: (text: string) => void): void {
    this.#messageListeners.push(listener);
  }

  onClose(listener: () => void): void {
    this.#closeListeners.push(listener);
  }

  /** Sends a JSON message; returns false (and drops the client) when it cannot keep up. */
  send(message: unknown): boolean {
    if (this.#closed) return false;
    const socket = this.#socket as Duplex & { writableLength?: number };
    if ((socket.writableLength ?? 0) > this.#maxBuffered) {
      this.close(1008, 'client too slow');
      return false;
    }
    socket.write(encodeFrame(Opcode.text, JSON.stringify(message)));
    return true;
  }

  /** Starts the closing handshake and ends the socket. */
  close(code = 1000, reason = ''): void {
    if (this.#closed) return;
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    try {
      this.#socket.end(encodeFrame(Opcode.close, payload));
    } catch {
      /* socket already gone */
    }
    this.#markClosed();
    // Don't wait forever for the client's close frame.
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const l of this.#closeListeners) l();
  }

  #onFrame(frame: Frame): void {
    switch (frame.opcode) {
      case Opcode.ping:
        this.#socket.write(encodeFrame(Opcode.pong, frame.payload));
        return;
      case Opcode.pong:
        return;
      case Opcode.close:
        this.close(frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1000);
        return;
      case Opcode.text:
      case Opcode.binary:
      case Opcode.continuation: {
        if (frame.opcode !== Opcode.continuation) {
          this.#fragments = [];
          this.#fragmentOpcode = frame.opcode;
        }
        this.#fragments.push(frame.payload);
        if (!frame.fin) return;
        const data = Buffer.concat(this.#fragments);
        this.#fragments = [];
        if (this.#fragmentOpcode !== Opcode.text) return; // binary input has no meaning here
        const text = data.toString('utf8');
        for (const l of this.#messageListeners) l(text);
        return;
      }
      default:
        this.close(1002, 'unknown opcode');
    }
  }
}

/**
 * Completes the opening handshake of an `upgrade` request. Returns undefined (after answering
 * 400) when the request is not a valid WebSocket handshake.
 */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, options: WebSocketOptions = {}): WebSocketConnection | undefined {
  const key = req.headers['sec-websocket-key'];
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (req.method !== 'GET' || upgrade !== 'websocket' || typeof key !== 'string' || Buffer.from(key, 'base64').length !== 16) {
    rejectUpgrade(socket, 400, 'bad WebSocket handshake');
    return undefined;
  }
  socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptKey(key)}`, '', ''].join('\r\n'));
  return new WebSocketConnection(socket, options);
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ error: status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : status === 404 ? 'not_found' : 'bad_request', message });
  socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
