import { estimateBytes } from '../util/estimateBytes.ts';

/** A cached node result. */
export interface CacheEntry {
  readonly outputs: Readonly<Record<string, unknown>>;
  /** The result read the run seed; it is valid only for `seed`. */
  readonly seed?: number;
  readonly bytes: number;
}

/**
 * Results of earlier runs in this process, keyed by input signature, evicted least-recently-used
 * first once their estimated size passes `maxBytes`. A single result larger than the budget is
 * not stored at all (it would evict everything else for nothing).
 */
export class NodeCache {
  readonly maxBytes: number;
  readonly #entries = new Map<string, CacheEntry>();
  #bytes = 0;
  hits = 0;
  misses = 0;
  evictions = 0;

  constructor(maxBytes = 512 * 1024 * 1024) {
    this.maxBytes = maxBytes;
  }

  /** The entry for `key`, valid for `seed`; refreshes its recency. */
  get(key: string, seed: number): CacheEntry | undefined {
    const entry = this.#entries.get(key);
    if (!entry || (entry.seed !== undefined && entry.seed !== seed)) {
      this.misses++;
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    this.hits++;
    return entry;
  }

  set(key: string, outputs: Record<string, unknown>, seed?: number): void {
    const bytes = estimateBytes(outputs);
    this.delete(key);
    if (bytes > this.maxBytes) return;
    this.#entries.set(key, { outputs, bytes, ...(seed !== undefined ? { seed } : {}) });
    this.#bytes += bytes;
    for (const [k, e] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= e.bytes;
      this.evictions++;
    }
  }

  delete(key: string): void {
    const old = this.#entries.get(key);
    if (!old) return;
    this.#entries.delete(key);
    this.#bytes -= old.bytes;
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }
}
