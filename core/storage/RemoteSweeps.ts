import { summaryOf } from '../server/ServerSweeps.ts';
import { SWEEP_FILES } from '../sweep/runSweep.ts';
import { parseSweepTable, type SweepTable } from '../sweep/SweepTable.ts';
import { isRecord } from '../util/own.ts';
import type { SweepSummary } from '../wire/sweeps.ts';
import type { ArtifactStore } from './ArtifactStore.ts';
import { readEach, readStoredJson, ReusedListing } from './storedListing.ts';

/** How long a listing of the store's sweeps is reused (GET /api/sweeps may be polled). */
const LIST_TTL_MS = 5000;
/** sweep.json objects read at once. */
const READS_AT_ONCE = 16;
/** Largest sweep.json read from the store (a 10 000-run table with many columns is a few MiB). */
const MAX_TABLE_BYTES = 64 * 1024 * 1024;

/**
 * The sweeps of an {@link ArtifactStore} as GET /api/sweeps shows them: each `sweeps/<id>/`
 * folder whose sweep.json is a sweep table (a server copies it there once the sweep has ended,
 * `tessera sweep --artifacts` when its sweep ends). An ended sweep's table does not change, so
 * each is read once; the folders are listed at most every {@link LIST_TTL_MS}. A sweep.json that
 * is not a table (written by someone else) is left out.
 */
export class RemoteSweeps {
  readonly store: ArtifactStore;
  readonly #tables = new Map<string, SweepTable>();
  readonly #listing = new ReusedListing(LIST_TTL_MS, () => this.#list());

  constructor(store: ArtifactStore) {
    this.store = store;
  }

  /** Every sweep in the store, newest first. */
  list(): Promise<SweepSummary[]> {
    return this.#listing.get();
  }

  /** One sweep's table, or undefined when the store holds none. */
  async table(id: string): Promise<SweepTable | undefined> {
    const known = this.#tables.get(id);
    if (known) return known;
    const object = await this.store.openSweepFile(id, SWEEP_FILES.json);
    if (!object) return undefined;
    const raw = await readStoredJson(object, MAX_TABLE_BYTES);
    const parsed = parseSweepTable(raw);
    // What a summary reads, type-checked: the store may hold files tessera did not write.
    if (!parsed || !isRecord(raw) || typeof raw.graph !== 'string' || !Array.isArray(raw.grid) || !raw.grid.every(isRecord) || !Array.isArray(raw.seeds) || !isRecord(raw.counts) || typeof raw.updatedAt !== 'string') return undefined;
    const table = { ...(raw as unknown as SweepTable), rows: parsed.rows };
    this.#tables.set(id, table);
    return table;
  }

  /** One sweep's summary (as the server gives its own), or undefined. */
  async summary(id: string): Promise<SweepSummary | undefined> {
    const table = await this.table(id);
    return table && summaryOf(id, table);
  }

  async #list(): Promise<SweepSummary[]> {
    const sweeps = await readEach(await this.store.listSweepIds(), READS_AT_ONCE, (id) => this.summary(id));
    return sweeps.sort((a, b) => b.id.localeCompare(a.id));
  }
}
