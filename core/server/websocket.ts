import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

// RFC 6455 over node:http's `upgrade` event. The server only sends JSON text messages and only
// receives small commands, so a compact codec is enough; the `ws` package would still leave the
// slow-client, idle and half-frame policies below to this file (see docs/api.md, "Limits").

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Frame opcodes (RFC 6455 §5.2). */
export const Opcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** Largest control-frame payload (RFC 6455 §5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** Defaults of {@link WebSocketOptions}, documented in docs/api.md. */
export const WEBSOCKET_LIMITS = {
  maxPayload: 64 * 1024,
  maxBuffered: 16 * 1024 * 1024,
  idleTimeoutMs: 60_000,
  frameTimeoutMs: 10_000,
} as const;

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
 * requires every client-to-server frame to be masked. `fin: false` starts or continues a
 * fragmented message (tests).
 */
export function encodeFrame(opcode: number, payload: Buffer | string, mask?: Buffer, fin = true): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const len = data.length;
  const lenBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + lenBytes + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | opcode;
  head[1] = (mask ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127);
  if (lenBytes === 2) head.writeUInt16BE(len, 2);
  else if (lenBytes === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, data]);
  mask.copy(head, 2 + lenBytes);
  const body = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) body[i] = data[i]! ^ mask[i & 3]!;
  return Buffer.concat([head, body]);
}

const isControl = (opcode: number) => (opcode & 0x08) !== 0;
const KNOWN_OPCODES = new Set<number>(Object.values(Opcode));

/**
 * Incremental frame decoder: feed it socket chunks, get whole frames back. Throws a
 * {@link WebSocketProtocolError} (close 1002/1009) as soon as a frame header breaks the rules,
 * before its payload is buffered: reserved bits or opcodes, wrong masking, a fragmented or
 * oversized (> 125 B) control frame, or a payload over `maxPayload`.
 */
export class FrameDecoder {
  #buffer: Buffer = Buffer.alloc(0);

  constructor(
    private readonly maxPayload: number,
    /** Servers insist on masked input; clients on unmasked input. */
    private readonly expectMasked: boolean,
  ) {}

  /** Bytes of a frame that has started but not finished (0 between frames). */
  get pending(): number {
    return this.#buffer.length;
  }

  push(chunk: Buffer): Frame[] {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    const frames: Frame[] = [];
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) break;
      const fin = (b[0]! & 0x80) !== 0;
      const opcode = b[0]! & 0x0f;
      if ((b[0]! & 0x70) !== 0) throw new WebSocketProtocolError(1002, 'reserved bits set (no extension was negotiated)');
      if (!KNOWN_OPCODES.has(opcode)) throw new WebSocketProtocolError(1002, `unknown opcode ${opcode}`);
      const masked = (b[1]! & 0x80) !== 0;
      if (masked !== this.expectMasked) throw new WebSocketProtocolError(1002, masked ? 'unexpected masked frame' : 'client frames must be masked');
      let len = b[1]! & 0x7f;
      if (isControl(opcode)) {
        if (!fin) throw new WebSocketProtocolError(1002, 'control frames must not be fragmented');
        if (len > MAX_CONTROL_PAYLOAD) throw new WebSocketProtocolError(1002, `control frames carry at most ${MAX_CONTROL_PAYLOAD} bytes`);
      }
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
      frames.push({ fin, opcode, payload });
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

/** Close codes a peer may send (RFC 6455 §7.4; 1004-1006 and 1015 are never on the wire). */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Options of {@link acceptWebSocket}; defaults in {@link WEBSOCKET_LIMITS}. */
export interface WebSocketOptions {
  /** Largest message accepted from the client, all fragments together (default 64 KiB: it only sends small commands). */
  readonly maxPayload?: number;
  /** Bytes queued for a client (messages, pongs, pings) before it counts as too slow and is dropped (default 16 MiB). */
  readonly maxBuffered?: number;
  /** A client that sends nothing for this long is closed; it is pinged at half of it (default 60 s). */
  readonly idleTimeoutMs?: number;
  /** A frame or fragmented message must be complete this long after its first byte (default 10 s). */
  readonly frameTimeoutMs?: number;
}

/**
 * A server-side WebSocket connection carrying JSON text messages. A slow, silent or vanished
 * client is dropped; that never blocks the sender (the run that produces the events).
 */
export class WebSocketConnection {
  readonly #socket: Duplex;
  readonly #maxPayload: number;
  readonly #maxBuffered: number;
  readonly #idleMs: number;
  readonly #frameMs: number;
  readonly #decoder: FrameDecoder;
  readonly #timer: NodeJS.Timeout;
  #closed = false;
  #fragments: Buffer[] = [];
  #fragmentBytes = 0;
  #fragmentOpcode = 0;
  #lastInbound = Date.now();
  /** When the unfinished frame now in the decoder began; undefined between frames. */
  #frameSince: number | undefined;
  /** When the unfinished fragmented message began. */
  #messageSince: number | undefined;
  #pinged = false;
  readonly #messageListeners: ((text: string) => void)[] = [];
  readonly #closeListeners: (() => void)[] = [];

  constructor(socket: Duplex, options: WebSocketOptions = {}, head?: Buffer) {
    this.#socket = socket;
    this.#maxPayload = options.maxPayload ?? WEBSOCKET_LIMITS.maxPayload;
    this.#maxBuffered = options.maxBuffered ?? WEBSOCKET_LIMITS.maxBuffered;
    this.#idleMs = options.idleTimeoutMs ?? WEBSOCKET_LIMITS.idleTimeoutMs;
    this.#frameMs = options.frameTimeoutMs ?? WEBSOCKET_LIMITS.frameTimeoutMs;
    this.#decoder = new FrameDecoder(this.#maxPayload, true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    const gone = () => this.#markClosed();
    socket.on('close', gone);
    socket.on('end', gone);
    socket.on('error', gone);
    // One coarse timer per client checks both timeouts; a quarter of the shorter one keeps the
    // overshoot small without waking often.
    this.#timer = setInterval(() => this.#checkTimeouts(), Math.max(10, Math.min(this.#idleMs / 2, this.#frameMs) / 4));
    this.#timer.unref();
    // After the caller has attached its listeners (same tick), before any later socket data.
    if (head?.length) process.nextTick(() => this.#onData(head));
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
    let text: string;
    try {
      text = JSON.stringify(message);
    } catch {
      return false; // not representable (e.g. too large); this message is skipped, the client stays
    }
    return this.#write(encodeFrame(Opcode.text, text));
  }

  /** Starts the closing handshake and ends the socket. */
  close(code = 1000, reason = ''): void {
    if (this.#closed) return;
    // A control frame carries at most 125 bytes: 2 for the code, the rest for the reason.
    const why = Buffer.from(reason, 'utf8').subarray(0, MAX_CONTROL_PAYLOAD - 2);
    const payload = Buffer.alloc(2 + why.length);
    payload.writeUInt16BE(code, 0);
    why.copy(payload, 2);
    try {
      this.#socket.end(encodeFrame(Opcode.close, payload));
    } catch {
      // The socket is already gone: there is nobody left to tell, and it is marked closed below.
    }
    this.#markClosed();
    // Don't wait forever for the client's close frame.
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  /**
   * Queues one frame, counting it against the slow-client cap whatever it is (a message, or a
   * pong to a client that floods pings and never reads).
   */
  #write(frame: Buffer): boolean {
    const queued = (this.#socket as Duplex & { writableLength?: number }).writableLength ?? 0;
    if (queued + frame.length > this.#maxBuffered) {
      this.close(1008, 'client too slow');
      return false;
    }
    this.#socket.write(frame);
    return true;
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    const now = Date.now();
    this.#lastInbound = now;
    this.#pinged = false;
    try {
      const frames = this.#decoder.push(chunk);
      for (const frame of frames) {
        this.#onFrame(frame);
        if (this.#closed) return;
      }
      // The half-frame clock starts with the first byte of a frame and restarts per frame.
      if (this.#decoder.pending === 0) this.#frameSince = undefined;
      else if (frames.length > 0 || this.#frameSince === undefined) this.#frameSince = now;
    } catch (error) {
      const e = error instanceof WebSocketProtocolError ? error : new WebSocketProtocolError(1002, 'malformed frame');
      this.close(e.code, e.message);
    }
  }

  #checkTimeouts(): void {
    if (this.#closed) return;
    const now = Date.now();
    const started = Math.min(this.#frameSince ?? Infinity, this.#messageSince ?? Infinity);
    if (now - started >= this.#frameMs) {
      this.close(1008, `frame not completed within ${this.#frameMs} ms`);
      return;
    }
    const silent = now - this.#lastInbound;
    if (silent >= this.#idleMs) {
      this.close(1001, `no data for ${this.#idleMs} ms`);
      return;
    }
    // Browsers answer pings by themselves, so a live but quiet editor never times out.
    if (silent >= this.#idleMs / 2 && !this.#pinged) {
      this.#pinged = true;
      this.#write(encodeFrame(Opcode.ping, ''));
    }
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#fragments = [];
    for (const l of this.#closeListeners) l();
  }

  #onFrame(frame: Frame): void {
    switch (frame.opcode) {
      case Opcode.ping:
        this.#write(encodeFrame(Opcode.pong, frame.payload));
        return;
      case Opcode.pong:
        return;
      case Opcode.close: {
        if (frame.payload.length === 1) throw new WebSocketProtocolError(1002, 'close frame with a 1-byte payload');
        const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1000;
        if (!validCloseCode(code)) throw new WebSocketProtocolError(1002, `invalid close code ${code}`);
        this.close(code);
        return;
      }
      case Opcode.text:
      case Opcode.binary:
        if (this.#messageSince !== undefined) throw new WebSocketProtocolError(1002, 'new message before the fragmented one finished');
        this.#fragmentOpcode = frame.opcode;
        this.#messageSince = Date.now();
        this.#addFragment(frame);
        return;
      case Opcode.continuation:
        if (this.#messageSince === undefined) throw new WebSocketProtocolError(1002, 'continuation frame without a message');
        this.#addFragment(frame);
        return;
    }
  }

  #addFragment(frame: Frame): void {
    this.#fragmentBytes += frame.payload.length;
    if (this.#fragmentBytes > this.#maxPayload) throw new WebSocketProtocolError(1009, `message larger than ${this.#maxPayload} bytes`);
    this.#fragments.push(frame.payload);
    if (!frame.fin) return;
    const data = this.#fragments.length === 1 ? this.#fragments[0]! : Buffer.concat(this.#fragments);
    this.#fragments = [];
    this.#fragmentBytes = 0;
    this.#messageSince = undefined;
    if (this.#fragmentOpcode !== Opcode.text) return; // binary input has no meaning here
    let text: string;
    try {
      text = utf8.decode(data);
    } catch {
      throw new WebSocketProtocolError(1007, 'text message is not valid UTF-8');
    }
    for (const l of this.#messageListeners) l(text);
  }
}

/**
 * Completes the opening handshake of an `upgrade` request. Returns undefined (after answering
 * 400) when the request is not a valid WebSocket handshake. `head` is what the client sent after
 * the handshake in the same packet (node:http's third `upgrade` argument).
 */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, options: WebSocketOptions = {}, head?: Buffer): WebSocketConnection | undefined {
  const key = req.headers['sec-websocket-key'];
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  if (req.method !== 'GET' || upgrade !== 'websocket' || typeof key !== 'string' || Buffer.from(key, 'base64').length !== 16) {
    rejectUpgrade(socket, 400, 'bad WebSocket handshake');
    return undefined;
  }
  socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptKey(key)}`, '', ''].join('\r\n'));
  return new WebSocketConnection(socket, options, head);
}

/** Status lines and error codes of the refusals an upgrade can get. */
const REFUSALS = new Map<number, { reason: string; error: string }>([
  [400, { reason: 'Bad Request', error: 'bad_request' }],
  [401, { reason: 'Unauthorized', error: 'unauthorized' }],
  [403, { reason: 'Forbidden', error: 'forbidden' }],
  [404, { reason: 'Not Found', error: 'not_found' }],
  [502, { reason: 'Bad Gateway', error: 'internal' }],
]);

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  const { reason, error } = REFUSALS.get(status) ?? REFUSALS.get(400)!;
  const body = JSON.stringify({ error, message });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
