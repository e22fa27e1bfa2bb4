import { createReadStream } from 'node:fs';
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { ReplayBuffer } from './ReplayBuffer.ts';

/** Unwritten bytes past which {@link EventLog.drained} asks the run to wait. */
const HIGH_WATER = 8 * 1024 * 1024;
/** …and the backlog it waits down to. */
const LOW_WATER = 1024 * 1024;

/**
 * A run's `events.jsonl`, appended as events happen so a killed server still leaves the record
 * up to that point. Lines are batched into one write per turn; the file is created (with its
 * folder) on the first line. A failing disk (ENOSPC, EROFS) stops the log, not the run:
 * {@link error} says why and later lines are dropped.
 *
 * @example
 * const log = new EventLog('runs/x/events.jsonl');
 * log.append(JSON.stringify(event));
 * await log.drained(); // when the run produces faster than the disk takes it
 * await log.close();
 */
export class EventLog {
  readonly path: string;
  #handle: Promise<FileHandle> | undefined;
  #queued: string[] = [];
  #backlog = 0;
  #writing: Promise<void> | undefined;
  #drain: { promise: Promise<void>; resolve: () => void } | undefined;
  #closed = false;
  #error: Error | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /** Why the log stopped writing, if it did. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Bytes appended but not yet written. */
  get backlog(): number {
    return this.#backlog;
  }

  /** Appends one line (without its newline). */
  append(line: string): void {
    if (this.#closed || this.#error) return;
    this.#queued.push(line + '\n');
    this.#backlog += line.length + 1;
    this.#writing ??= this.#writeLoop();
  }

  /** Undefined while the backlog is small; else a promise that resolves once it has shrunk. */
  drained(): Promise<void> | undefined {
    if (this.#backlog < HIGH_WATER) return undefined;
    if (!this.#drain) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#drain = { promise, resolve };
    }
    return this.#drain.promise;
  }

  /** Resolves once every line appended so far is in the file (or the log has failed). */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Writes what is left and closes the file; later appends are ignored. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    if (this.#handle) await (await this.#handle.catch(() => undefined))?.close().catch(() => undefined);
  }

  async #writeLoop(): Promise<void> {
    try {
      this.#handle ??= mkdir(dirname(this.path), { recursive: true }).then(() => open(this.path, 'a'));
      const handle = await this.#handle;
      while (this.#queued.length) {
        const text = this.#queued.join('');
        this.#queued = [];
        await handle.write(text);
        this.#backlog -= text.length;
        if (this.#backlog < LOW_WATER) this.#release();
      }
    } catch (error) {
      this.#error = error as Error;
      this.#queued = [];
      this.#backlog = 0;
    } finally {
      this.#writing = undefined;
      if (this.#backlog < LOW_WATER) this.#release();
    }
    // Lines appended while the last write was finishing.
    if (this.#queued.length && !this.#error) this.#writing = this.#writeLoop();
  }

  #release(): void {
    const d = this.#drain;
    this.#drain = undefined;
    d?.resolve();
  }
}

/**
 * Up to `limit` events of an events.jsonl from position `since` (0-based line number). A torn
 * last line (a process killed mid-write) is left out. A missing file gives no events.
 */
export async function readEventLines(path: string, since: number, limit: number): Promise<Record<string, unknown>[]> {
  const events: Record<string, unknown>[] = [];
  if (limit <= 0) return events;
  await forEachEvent(path, since, (event) => {
    events.push(event);
    return events.length < limit;
  });
  return events;
}

/** Calls `each` with the events from line `since` on, while it returns true. */
async function forEachEvent(path: string, since: number, each: (event: Record<string, unknown>) => boolean): Promise<void> {
  let stream;
  try {
    await stat(path);
    stream = createReadStream(path, { encoding: 'utf8' });
  } catch {
    return;
  }
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let position = 0;
  try {
    for await (const line of lines) {
      if (!line) continue;
      if (position++ < since) continue;
      const event = parseEvent(line);
      if (event && !each(event)) break;
    }
  } catch {
    /* a file that vanishes mid-read ends the listing */
  } finally {
    lines.close();
    stream.destroy();
  }
}

/** The replay of a recorded run (see {@link ReplayBuffer}), in one pass over its events.jsonl. */
export async function readReplay(path: string): Promise<Record<string, unknown>[]> {
  const buffer = new ReplayBuffer();
  await forEachEvent(path, 0, (event) => {
    buffer.add(event);
    return true;
  });
  return buffer.replay();
}

/** The last whole event of an events.jsonl (read from its end, so a huge log costs nothing). */
export async function lastEvent(path: string): Promise<Record<string, unknown> | undefined> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    const length = Math.min(size, 256 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    for (let i = lines.length - 1; i >= (length < size ? 1 : 0); i--) {
      const event = lines[i] ? parseEvent(lines[i]!) : undefined;
      if (event) return event;
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function parseEvent(line: string): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(line) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) && typeof (v as { type?: unknown }).type === 'string' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
