import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Entry {
  readonly dir: Promise<string>;
  /** The local copy, or undefined when the store has no such file. */
  readonly file: Promise<string | undefined>;
  /** Reads under way: an evicted entry's folder is deleted once the last one ends. */
  users: number;
  evicted: boolean;
}

/**
 * Local copies of stored files that never change (a stored run's events.jsonl: a run is listed
 * only once its run.json is stored, after every other file), downloaded once each into a temp
 * folder of its own; the `max` most recently used are kept, and an evicted one's folder is deleted
 * once no read uses it. A failed download is not kept: the next read tries again.
 */
export class DownloadCache {
  readonly #max: number;
  readonly #name: string;
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  /** `name`: the copies' file name (e.g. events.jsonl). */
  constructor(max: number, name: string) {
    this.#max = Math.max(1, max);
    this.#name = name;
  }

  /**
   * `read` of the local copy of `key` (undefined when `download`, called once per copy with
   * where to write it, answered false: no such file).
   */
  async use<T>(key: string, download: (file: string) => Promise<boolean>, read: (file: string | undefined) => Promise<T>): Promise<T> {
    if (this.#closed) throw new Error('the server is closing');
    let entry = this.#entries.get(key);
    if (entry) {
      this.#entries.delete(key); // most recently used last
      this.#entries.set(key, entry);
    } else {
      const dir = mkdtemp(join(tmpdir(), 'tessera-events-'));
      const made: Entry = { dir, file: dir.then(async (d) => ((await download(join(d, this.#name))) ? join(d, this.#name) : undefined)), users: 0, evicted: false };
      made.file.catch(() => {
        if (this.#entries.get(key) === made) this.#entries.delete(key);
        this.#evict(made);
      });
      this.#entries.set(key, made);
      entry = made;
      for (const [k, old] of this.#entries) {
        if (this.#entries.size <= this.#max) break;
        this.#entries.delete(k);
        this.#evict(old);
      }
    }
    entry.users++;
    try {
      return await read(await entry.file);
    } finally {
      entry.users--;
      if (entry.evicted && entry.users === 0) void removeDir(entry);
    }
  }

  /** Drops every copy (each folder deleted once its reads end); later reads are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(all.map((e) => this.#evict(e)));
  }

  #evict(entry: Entry): Promise<void> {
    entry.evicted = true;
    return entry.users === 0 ? removeDir(entry) : Promise.resolve();
  }
}

function removeDir(entry: Entry): Promise<void> {
  return entry.dir.then((d) => rm(d, { recursive: true, force: true })).catch(() => undefined); // temp copies only
}
