import { createWriteStream, type WriteStream } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { toDiskWriteError } from '../util/diskError.ts';

/**
 * The files of a run record in its directory. run.json is written first (status "running") and
 * rewritten at the end; a run.json still saying "running" with no terminal event in
 * events.jsonl is a run that was killed.
 */
export const RECORD_FILES = { summary: 'run.json', graph: 'graph.json', events: 'events.jsonl' } as const;

/**
 * What earlier run record `dir` holds, in words ("run.json says run:done"), or undefined when
 * none. A record is a run.json or a graph.json: events.jsonl alone is never written first.
 */
export async function findRunRecord(dir: string): Promise<string | undefined> {
  const exists = (name: string) => stat(join(dir, name)).then(() => true, () => false);
  if (await exists(RECORD_FILES.summary)) {
    let status = 'unreadable';
    try {
      const parsed = JSON.parse(await readFile(join(dir, RECORD_FILES.summary), 'utf8')) as unknown;
      const s = parsed && typeof parsed === 'object' ? (parsed as { status?: unknown }).status : undefined;
      if (typeof s === 'string') status = s;
    } catch {
      // An unreadable summary is still a record; say so instead of failing here.
    }
    return `run.json says ${status}`;
  }
  if (await exists(RECORD_FILES.graph)) return 'graph.json from an earlier run';
  return undefined;
}

/**
 * Deletes an earlier record (for `--force`). run.json goes first, so at no moment does a "done"
 * summary sit next to files of another run. Other files in the directory are left alone.
 */
export async function clearRunRecord(dir: string): Promise<void> {
  for (const name of [RECORD_FILES.summary, RECORD_FILES.events, RECORD_FILES.graph]) {
    const path = join(dir, name);
    await rm(path, { force: true }).catch((e: unknown) => {
      throw toDiskWriteError(e, path);
    });
  }
}

/**
 * events.jsonl, appended as events happen. A write error (disk full, …) does not crash the
 * process with an unhandled 'error' event: it is kept in `error` (as a DiskWriteError), later
 * lines are dropped, and `onError` is told once so the caller can stop the run.
 */
export class EventLog {
  readonly path: string;
  error: Error | undefined;
  readonly #stream: WriteStream;

  constructor(path: string, onError: (error: Error) => void) {
    this.path = path;
    this.#stream = createWriteStream(path);
    this.#stream.on('error', (e) => {
      if (this.error) return;
      this.error = toDiskWriteError(e, path) as Error;
      onError(this.error);
    });
  }

  write(line: string): void {
    if (!this.error) this.#stream.write(line);
  }

  /**
   * Flushes and closes; resolves (never rejects) once the file is closed, error or not. After a
   * write error the half-written last line is cut off, so every line left parses.
   */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (this.#stream.closed) return resolve();
      this.#stream.once('close', () => resolve());
      if (!this.#stream.destroyed) this.#stream.end();
    });
    if (this.error) await cutPartialLine(this.path).catch(() => undefined);
  }
}

/** Truncates a regular file after its last newline (a shorter file frees space, even on a full disk). */
async function cutPartialLine(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
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
  } finally {
    await fh.close();
  }
}
