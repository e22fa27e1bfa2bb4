import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { toDiskWriteError } from '../util/diskError.ts';

/** Unwritten bytes past which {@link EventLog.drained} asks the run to wait. */
const HIGH_WATER = 8 * 1024 * 1024;
/** …and the backlog it waits down to. */
const LOW_WATER = 1024 * 1024;

/** Options of an {@link EventLog}. */
export interface EventLogOptions {
  /** Told once when the log fails (the CLI stops its run: its results would have no record). */
  readonly onError?: (error: Error) => void;
}

/**
 * A run's `events.jsonl`, appended as events happen so a killed process still leaves the record
 * up to that point. Lines are batched into one write per turn; the file is created (with its
 * folder) on the first line, replacing any earlier file. A writer far ahead of the disk is asked
 * to wait ({@link drained}). A failing disk (ENOSPC, EROFS, …) stops the log, not the process:
 * {@link error} says why (a DiskWriteError naming the file), later lines are dropped, `onError`
 * is told once, and {@link close} cuts the half-written last line so every line left parses.
 *
 * @example
 * const log = new EventLog('runs/x/events.jsonl');
 * log.append(JSON.stringify(event));
 * await log.drained(); // when the run produces faster than the disk takes it
 * await log.close();
 */
export class EventLog {
  readonly path: string;
  readonly #onError: ((error: Error) => void) | undefined;
  #handle: Promise<FileHandle> | undefined;
  #queued: string[] = [];
  #backlog = 0;
  #writing: Promise<void> | undefined;
  #drain: { promise: Promise<void>; resolve: () => void } | undefined;
  #closed = false;
  #error: Error | undefined;

  constructor(path: string, options: EventLogOptions = {}) {
    this.path = path;
    this.#onError = options.onError;
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

  /**
   * Writes what is left and closes the file; later appends are ignored. Never rejects: a close
   * that fails after a failed write has nothing left to report beyond {@link error}.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    const handle = await this.#handle?.catch(() => undefined); // an open that failed is already the log's error
    if (!handle) return;
    if (this.#error) await cutPartialLine(handle).catch(() => undefined); // best effort: the error is already reported
    await handle.close().catch(() => undefined); // nothing is left to lose once the data is written (or the log failed)
  }

  async #writeLoop(): Promise<void> {
    try {
      this.#handle ??= mkdir(dirname(this.path), { recursive: true }).then(() => open(this.path, 'w+'));
      const handle = await this.#handle;
      while (this.#queued.length) {
        const text = this.#queued.join('');
        this.#queued = [];
        await handle.write(text);
        this.#backlog -= text.length;
        if (this.#backlog < LOW_WATER) this.#release();
      }
    } catch (error) {
      this.#fail(error);
    } finally {
      this.#writing = undefined;
      if (this.#backlog < LOW_WATER) this.#release();
    }
    // Lines appended while the last write was finishing.
    if (this.#queued.length && !this.#error) this.#writing = this.#writeLoop();
  }

  #fail(error: unknown): void {
    this.#queued = [];
    this.#backlog = 0;
    if (this.#error) return;
    const e = toDiskWriteError(error, this.path);
    this.#error = e instanceof Error ? e : new Error(String(e));
    this.#onError?.(this.#error);
  }

  #release(): void {
    const d = this.#drain;
    this.#drain = undefined;
    d?.resolve();
  }
}

/** Truncates a regular file after its last newline (a shorter file frees space, even on a full disk). */
async function cutPartialLine(fh: FileHandle): Promise<void> {
  const info = await fh.stat();
  if (!info.isFile()) return;
  const size = info.size;
  const chunk = Buffer.alloc(64 * 1024);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - chunk.length);
    const { bytesRead } = await fh.read(chunk, 0, end - start, start);
    const nl = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (nl >= 0) {
      if (start + nl + 1 < size) await fh.truncate(start + nl + 1);
      return;
    }
    end = start;
  }
  await fh.truncate(0);
}
