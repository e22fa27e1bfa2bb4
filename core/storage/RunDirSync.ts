import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { join, relative, sep } from 'node:path';
import { RECORD_FILES } from '../records/recordFiles.ts';
import { walkFiles } from '../util/walkFiles.ts';
import type { ArtifactStore, StoredFile } from './ArtifactStore.ts';
import { withRetries, type RetryPolicy } from './withRetries.ts';

/** The record files, uploaded by {@link RunDirSync.finish} only, run.json the very last. */
const RECORD_ORDER = [RECORD_FILES.graph, RECORD_FILES.events, RECORD_FILES.summary] as const;
const RECORD_NAMES = new Set<string>(RECORD_ORDER);

/**
 * Copies one run directory of a worker into an {@link ArtifactStore}: during the run, what
 * changed since the last copy ({@link push}: checkpoints, so a worker on another machine can
 * take the run over); at its end everything, then the record, run.json last ({@link finish}):
 * a run is listed from the store only once its run.json is there, so a listed run is whole.
 * {@link restore} is the other way: before a run starts, the files an earlier attempt stored.
 *
 * Files are pushed oldest first (by mtime), so a commit file written after the files it
 * commits (a checkpoint's manifest) reaches the store after them too. Half-written atomic writes
 * (`.name.tmp`) are left out.
 */
export class RunDirSync {
  readonly #store: ArtifactStore;
  readonly #runId: string;
  readonly #dir: string;
  /** What each file was (size and mtime) when last stored. */
  readonly #stored = new Map<string, string>();
  #pushing: Promise<number> = Promise.resolve(0);

  constructor(store: ArtifactStore, runId: string, dir: string) {
    this.#store = store;
    this.#runId = runId;
    this.#dir = dir;
  }

  /**
   * Downloads the files an earlier attempt of this run stored (not its record), where this
   * directory lacks them or holds other content: another size, or (the same size) another MD5
   * than the object's ETag (a fixed-name file such as a history or log rewritten at the same
   * size). Each restored file is noted as stored, so the next {@link push} does not send it back.
   * Returns how many were copied.
   */
  async restore(): Promise<number> {
    let copied = 0;
    for (const f of await this.#store.listFiles(this.#runId)) {
      if (RECORD_NAMES.has(f.path)) continue;
      const local = join(this.#dir, ...f.path.split('/'));
      const have = await stat(local).catch(() => undefined);
      if (!(have && (await sameContent(local, have.size, f)))) {
        if (!(await this.#store.download(this.#runId, f.path, local))) continue;
        copied++;
      }
      const now = await stat(local).catch(() => undefined);
      if (now) this.#stored.set(f.path, stateOf(now));
    }
    return copied;
  }

  /** Stores the files that changed since the last push (one push at a time); returns how many. */
  push(): Promise<number> {
    const next = this.#pushing.catch(() => 0).then(() => this.#pushChanged());
    this.#pushing = next;
    return next;
  }

  /**
   * Pushes every artifact, then graph.json, events.jsonl and, last, run.json. With `retry`, a
   * failed attempt is made again after a pause (files already stored are not sent again; the
   * record goes again, run.json still last); `onRetry` hears of each failure tried again.
   */
  finish(retry?: RetryPolicy, onRetry?: (error: unknown, nextTry: number, delayMs: number) => void): Promise<void> {
    return retry ? withRetries(() => this.#finishOnce(), retry, onRetry) : this.#finishOnce();
  }

  async #finishOnce(): Promise<void> {
    await this.push();
    for (const name of RECORD_ORDER) {
      const local = join(this.#dir, name);
      if (await stat(local).then(() => true, () => false)) await this.#store.putFile(this.#runId, name, local);
    }
  }

  async #pushChanged(): Promise<number> {
    const files = await walkFiles(this.#dir, { maxDepth: 16, skip: (name) => name.startsWith('.') && name.endsWith('.tmp') });
    const changed: { path: string; local: string; mtime: number; state: string }[] = [];
    for (const local of files) {
      const path = relative(this.#dir, local).split(sep).join('/');
      if (RECORD_NAMES.has(path)) continue;
      const s = await stat(local).catch(() => undefined);
      if (!s) continue; // replaced or removed since the walk
      const state = stateOf(s);
      if (this.#stored.get(path) !== state) changed.push({ path, local, mtime: s.mtimeMs, state });
    }
    changed.sort((a, b) => a.mtime - b.mtime);
    let pushed = 0;
    for (const f of changed) {
      try {
        await this.#store.putFile(this.#runId, f.path, f.local);
      } catch (error) {
        // Removed since the walk (an old checkpoint pruned): nothing to store.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      this.#stored.set(f.path, f.state);
      pushed++;
    }
    return pushed;
  }
}

/** What a local file was when stored: a later push sends it again once this differs. */
function stateOf(s: { size: number; mtimeMs: number }): string {
  return `${s.size}:${s.mtimeMs}`;
}

/** A single-request upload's ETag: the MD5 of the content (a multipart one ends in `-<parts>`). */
const MD5_ETAG = /^"?([0-9a-f]{32})"?$/i;

/**
 * Whether the local file (of `size` bytes) holds what `stored` holds: the same size and, where
 * the ETag is an MD5, the same MD5. A multipart object's ETag is not the content's MD5: it is
 * compared by size alone (only files of 64 MiB and more, checkpoints named by their step).
 */
async function sameContent(local: string, size: number, stored: StoredFile): Promise<boolean> {
  if (size !== stored.size) return false;
  const md5 = stored.etag === undefined ? undefined : MD5_ETAG.exec(stored.etag)?.[1];
  if (md5 === undefined) return stored.etag === undefined || stored.etag.includes('-');
  const hash = createHash('md5');
  await pipeline(createReadStream(local), hash);
  return hash.digest('hex') === md5.toLowerCase();
}
