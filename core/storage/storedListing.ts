import type { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';

/**
 * A listing of the store reused for `ttlMs` (the API may be polled; each listing costs requests
 * per 1000 keys). A failed listing is not kept: the next call tries again.
 */
export class ReusedListing<T> {
  readonly #ttlMs: number;
  readonly #load: () => Promise<T[]>;
  #listed: { at: number; items: Promise<T[]> } | undefined;

  constructor(ttlMs: number, load: () => Promise<T[]>) {
    this.#ttlMs = ttlMs;
    this.#load = load;
  }

  get(): Promise<T[]> {
    if (this.#listed && Date.now() - this.#listed.at < this.#ttlMs) return this.#listed.items;
    const items = this.#load();
    const entry = { at: Date.now(), items };
    this.#listed = entry;
    // Only this listing is dropped: an older one failing late must not drop a newer one.
    items.catch(() => {
      if (this.#listed === entry) this.#listed = undefined;
    });
    return items;
  }
}

/** A stored JSON object's value; undefined when it is larger than `maxBytes` or not JSON (written by someone else). */
export async function readStoredJson(object: { body: Readable; size: number }, maxBytes: number): Promise<unknown> {
  if (object.size > maxBytes) {
    object.body.destroy();
    return undefined;
  }
  try {
    return JSON.parse(await text(object.body));
  } catch {
    return undefined;
  }
}

/** `read` of each id, `atOnce` at a time (a first listing of a big bucket); the undefined ones left out. */
export async function readEach<T>(ids: readonly string[], atOnce: number, read: (id: string) => Promise<T | undefined>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < ids.length; i += atOnce) for (const v of await Promise.all(ids.slice(i, i + atOnce).map(read))) if (v !== undefined) out.push(v);
  return out;
}
