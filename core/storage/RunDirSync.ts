import { stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { RECORD_FILES } from '../records/recordFiles.ts';
import { walkFiles } from '../util/walkFiles.ts';
import type { ArtifactStore } from './ArtifactStore.ts';
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
   * directory lacks them or has another size. Returns how many were copied.
   */
  async restore(): Promise<number> {
    let copied = 0;
    for (const f of await this.#store.listFiles(this.#runId)) {
      if (RECORD_NAMES.has(f.path)) continue;
      const local = join(this.#dir, ...f.path.split('/'));
      const have = await stat(local).then((s) => s.size, () => -1);
      if (have === f.size) continue;
      if (await this.#store.download(this.#runId, f.path, local)) copied++;
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
      const state = `${s.size}:${s.mtimeMs}`;
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
