import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../services/Logger.ts';
import type { RemoteRuns } from '../storage/RemoteRuns.ts';
import { ApiError, logRequestFailure } from './http.ts';
import { RUN_ID_PATTERN } from './runId.ts';
import type { RunQueue, ServerMessage } from './RunQueue.ts';
import { acceptWebSocket, rejectUpgrade, type WebSocketConnection, type WebSocketOptions } from './websocket.ts';

/** What the hub needs of its server. */
export interface WebSocketHubOptions {
  readonly queue: RunQueue;
  readonly logger: Logger;
  /** Throws an ApiError when the handshake may not proceed (token, Host, Origin). */
  readonly authorize: (req: IncomingMessage, url: URL) => void;
  /** Message size, slow-client cap, idle and half-frame timeouts. */
  readonly webSocket?: WebSocketOptions;
  /** The runs of `serve --artifacts`'s bucket: a run only the bucket holds is replayed from there, as GET …/events reads it. */
  readonly remote?: RemoteRuns;
}

/** A client, and the one run it watches (none: every run). */
interface Client {
  readonly conn: WebSocketConnection;
  readonly runFilter: string | undefined;
}

/**
 * The WebSocket stream at `/api/ws`: accepts upgrades, replays a run to a client that joins it,
 * and fans every message of the {@link RunQueue} out to the clients that want it.
 */
export class WebSocketHub {
  readonly #o: WebSocketHubOptions;
  readonly #clients = new Set<Client>();

  constructor(options: WebSocketHubOptions) {
    this.#o = options;
    options.queue.onMessage((m) => this.#broadcast(m));
  }

  /** Handles an HTTP upgrade; an exception here ends the socket, never the process. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    try {
      this.#upgrade(req, socket, head);
    } catch (error) {
      logRequestFailure(this.#o.logger, req, error);
      socket.destroy();
    }
  }

  /** Closes every client (the server is shutting down). */
  closeAll(): void {
    for (const c of this.#clients) c.conn.close(1001, 'server shutting down');
  }

  /** Sends a message that is not a run's (a sweep's progress) to every client that watches all runs. */
  publish(m: ServerMessage): void {
    this.#broadcast(m);
  }

  #broadcast(m: ServerMessage): void {
    for (const { conn, runFilter: filter } of this.#clients) {
      if (filter && m.type === 'sweep') continue;
      if (filter && 'runId' in m && m.runId !== filter) continue;
      if (filter && m.type === 'event' && m.event.runId !== filter) continue;
      if (filter && m.type === 'run' && m.run.id !== filter) continue;
      conn.send(m);
    }
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { queue } = this.#o;
    // An upgrade socket has no error listener yet; a client reset must not crash the server.
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      rejectUpgrade(socket, 400, 'bad URL');
      return;
    }
    if (url.pathname !== '/api/ws') {
      rejectUpgrade(socket, 404, 'WebSocket endpoint is /api/ws');
      return;
    }
    try {
      // WebSockets are exempt from CORS, so a foreign page could otherwise read the stream.
      this.#o.authorize(req, url);
    } catch (error) {
      const e = error instanceof ApiError ? error : new ApiError(403, 'forbidden', 'bad Origin');
      rejectUpgrade(socket, e.status, e.message);
      return;
    }
    const runFilter = url.searchParams.get('run') ?? undefined;
    if (runFilter !== undefined && !queue.get(runFilter)) {
      if (!this.#o.remote) {
        rejectUpgrade(socket, 404, `no run "${runFilter}"`);
        return;
      }
      void this.#joinStored(req, socket, head, runFilter, this.#o.remote);
      return;
    }
    const conn = acceptWebSocket(req, socket, this.#o.webSocket ?? {}, head);
    if (!conn) return;
    const client: Client = { conn, runFilter };
    conn.send({ type: 'status', queue: queue.queueState() });
    if (runFilter) {
      conn.send({ type: 'run', run: queue.get(runFilter)! });
      const live = queue.eventsInMemory(runFilter);
      if (live) {
        // Replay and join the broadcast in the same tick, so no live event falls in between.
        for (const event of live) conn.send({ type: 'event', event });
        this.#clients.add(client);
      } else this.#replayThenJoin(req, client, queue.replay(runFilter));
    } else this.#clients.add(client);
    this.#listen(client);
  }

  /**
   * A client asking for a run that only the bucket holds (`serve --artifacts`): the run is
   * looked up there before the handshake is answered (404 when it is not there, 502 when the
   * bucket cannot be read), then replayed from its stored events.jsonl. A stored run has ended,
   * so there is nothing live to miss.
   */
  async #joinStored(req: IncomingMessage, socket: Duplex, head: Buffer, runId: string, remote: RemoteRuns): Promise<void> {
    let run;
    try {
      run = RUN_ID_PATTERN.test(runId) ? await remote.info(runId) : undefined;
    } catch (error) {
      logRequestFailure(this.#o.logger, req, error);
      rejectUpgrade(socket, 502, `the run store cannot be read: ${(error as Error).message}`);
      return;
    }
    if (socket.destroyed) return;
    if (!run) {
      rejectUpgrade(socket, 404, `no run "${runId}"`);
      return;
    }
    const conn = acceptWebSocket(req, socket, this.#o.webSocket ?? {}, head);
    if (!conn) return;
    const client: Client = { conn, runFilter: runId };
    conn.send({ type: 'status', queue: this.#o.queue.queueState() });
    conn.send({ type: 'run', run });
    this.#replayThenJoin(req, client, remote.replay(runId));
    this.#listen(client);
  }

  /** Sends a finished run's replay, then adds the client (nothing live can fall in between: the run has ended). */
  #replayThenJoin(req: IncomingMessage, client: Client, replay: Promise<Record<string, unknown>[] | undefined>): void {
    const { conn } = client;
    replay.then(
      (events) => {
        for (const event of events ?? []) conn.send({ type: 'event', event });
        if (!conn.closed) this.#clients.add(client);
      },
      // An unreadable record must not become an unhandled rejection (which ends the process).
      (error: unknown) => {
        logRequestFailure(this.#o.logger, req, error);
        conn.close(1011, 'could not read the run record');
      },
    );
  }

  #listen(client: Client): void {
    const { conn } = client;
    conn.onMessage((text) => {
      // The only client command: a ping to check liveness.
      try {
        if ((JSON.parse(text) as { type?: string }).type === 'ping') conn.send({ type: 'pong' });
      } catch {
        conn.close(1003, 'messages must be JSON');
      }
    });
    conn.onClose(() => this.#clients.delete(client));
  }
}
