import { RECORD_FILES } from '../records/recordFiles.ts';
import { readEventLines, type RecordedEvent } from '../records/readEvents.ts';
import { parseRunRecord } from '../records/RunRecord.ts';
import { readReplay } from '../server/ReplayBuffer.ts';
import { runInfoOf } from '../server/runInfo.ts';
import type { RunInfo } from '../wire/runs.ts';
import type { ArtifactStore } from './ArtifactStore.ts';
import { DownloadCache } from './DownloadCache.ts';
import { readEach, readStoredJson, ReusedListing } from './storedListing.ts';

/** How long a listing of the store is reused (GET /api/runs may be polled). */
const LIST_TTL_MS = 5000;
/** run.json objects read at once. */
const READS_AT_ONCE = 16;
/** Largest run.json read from the store. */
const MAX_RECORD_BYTES = 4 * 1024 * 1024;
/** Largest events.jsonl read from the store (a larger one is refused with its size). */
export const MAX_STORED_EVENTS_BYTES = 256 * 1024 * 1024;
/** Stored runs whose events.jsonl is kept downloaded (paging through a run's events reads it once). */
const EVENTS_CACHED = 4;

/**
 * The runs of an {@link ArtifactStore} as the API shows them: a run is listed once its run.json
 * is stored (workers store it last, after every other file of the run), with the summary it
 * holds. Finished runs do not change, so each run.json is read once; the listing of run folders
 * is refreshed at most every {@link LIST_TTL_MS}.
 */
export class RemoteRuns {
  readonly store: ArtifactStore;
  readonly #infos = new Map<string, RunInfo>();
  readonly #listing = new ReusedListing(LIST_TTL_MS, () => this.#list());
  readonly #events = new DownloadCache(EVENTS_CACHED, RECORD_FILES.events);
  readonly #maxEventsBytes: number;

  constructor(store: ArtifactStore, options: { maxEventsBytes?: number } = {}) {
    this.store = store;
    this.#maxEventsBytes = options.maxEventsBytes ?? MAX_STORED_EVENTS_BYTES;
  }

  /** Deletes the downloaded events files. */
  close(): Promise<void> {
    return this.#events.close();
  }

  /** Every whole run in the store, newest first. */
  list(): Promise<RunInfo[]> {
    return this.#listing.get();
  }

  /** One run's summary, or undefined when the store holds no run.json for it. */
  async info(runId: string): Promise<RunInfo | undefined> {
    const known = this.#infos.get(runId);
    if (known) return known;
    const object = await this.store.open(runId, RECORD_FILES.summary);
    if (!object) return undefined;
    let record;
    try {
      record = parseRunRecord(await readStoredJson(object, MAX_RECORD_BYTES), new Date());
    } catch {
      return undefined; // not a record this version can list
    }
    if (!record) return undefined;
    const info = runInfoOf(runId, record);
    this.#infos.set(runId, info);
    return info;
  }

  /** Events of a stored run from position `since`, at most `limit` (undefined: no such run). */
  events(runId: string, since: number, limit: number): Promise<RecordedEvent[] | undefined> {
    return this.#readEvents(runId, (file) => readEventLines(file, since, limit));
  }

  /**
   * What a WebSocket client joining a stored run is replayed (undefined: no such run): the
   * replay of a finished local run (ReplayBuffer's readReplay), read from the stored events.jsonl.
   */
  replay(runId: string): Promise<Record<string, unknown>[] | undefined> {
    return this.#readEvents(runId, (file) => readReplay(file));
  }

  /**
   * Reads a stored run's events.jsonl with a local file's reader (a torn line is left out the
   * same way), from a copy downloaded once: a listed run's files no longer change.
   */
  async #readEvents<T>(runId: string, read: (file: string) => Promise<T[]>): Promise<T[] | undefined> {
    if (!(await this.info(runId))) return undefined;
    return this.#events.use(runId, (file) => this.store.download(runId, RECORD_FILES.events, file, this.#maxEventsBytes), async (file) => (file === undefined ? [] : read(file)));
  }

  async #list(): Promise<RunInfo[]> {
    const infos = await readEach(await this.store.listRunIds(), READS_AT_ONCE, (id) => this.info(id));
    return infos.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }
}
