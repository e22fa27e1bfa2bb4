import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { RECORD_FILES } from '../records/recordFiles.ts';
import { readEventLines, type RecordedEvent } from '../records/readEvents.ts';
import { parseRunRecord } from '../records/RunRecord.ts';
import { runInfoOf } from '../server/runInfo.ts';
import type { RunInfo } from '../wire/runs.ts';
import type { ArtifactStore } from './ArtifactStore.ts';

/** How long a listing of the store is reused (GET /api/runs may be polled). */
const LIST_TTL_MS = 5000;
/** run.json objects read at once. */
const READS_AT_ONCE = 16;
/** Largest run.json read from the store. */
const MAX_RECORD_BYTES = 4 * 1024 * 1024;

/**
 * The runs of an {@link ArtifactStore} as the API shows them: a run is listed once its run.json
 * is stored (workers store it last, after every other file of the run), with the summary it
 * holds. Finished runs do not change, so each run.json is read once; the listing of run folders
 * is refreshed at most every {@link LIST_TTL_MS}.
 */
export class RemoteRuns {
  readonly store: ArtifactStore;
  readonly #infos = new Map<string, RunInfo>();
  #listed: { at: number; ids: Promise<RunInfo[]> } | undefined;

  constructor(store: ArtifactStore) {
    this.store = store;
  }

  /** Every whole run in the store, newest first. */
  list(): Promise<RunInfo[]> {
    if (this.#listed && Date.now() - this.#listed.at < LIST_TTL_MS) return this.#listed.ids;
    const ids = this.#list();
    this.#listed = { at: Date.now(), ids };
    ids.catch(() => (this.#listed = undefined)); // a failed listing is tried again next time
    return ids;
  }

  /** One run's summary, or undefined when the store holds no run.json for it. */
  async info(runId: string): Promise<RunInfo | undefined> {
    const known = this.#infos.get(runId);
    if (known) return known;
    const object = await this.store.open(runId, RECORD_FILES.summary);
    if (!object) return undefined;
    if (object.size > MAX_RECORD_BYTES) {
      object.body.destroy();
      return undefined;
    }
    let record;
    try {
      record = parseRunRecord(JSON.parse(await text(object.body)), new Date());
    } catch {
      return undefined; // not JSON: not a record this version can list
    }
    if (!record) return undefined;
    const info = runInfoOf(runId, record);
    this.#infos.set(runId, info);
    return info;
  }

  /** Events of a stored run from position `since`, at most `limit` (undefined: no such run). */
  async events(runId: string, since: number, limit: number): Promise<RecordedEvent[] | undefined> {
    if (!(await this.info(runId))) return undefined;
    // The stored events.jsonl is read as a local one is: a torn line is left out, the same way.
    const dir = await mkdtemp(join(tmpdir(), 'tessera-events-'));
    try {
      const file = join(dir, RECORD_FILES.events);
      if (!(await this.store.download(runId, RECORD_FILES.events, file))) return [];
      return await readEventLines(file, since, limit);
    } finally {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined); // a temp copy only
    }
  }

  async #list(): Promise<RunInfo[]> {
    const infos: RunInfo[] = [];
    const ids = await this.store.listRunIds();
    // New runs' run.json are read READS_AT_ONCE at a time (a first listing of a big bucket).
    for (let i = 0; i < ids.length; i += READS_AT_ONCE) {
      for (const info of await Promise.all(ids.slice(i, i + READS_AT_ONCE).map((id) => this.info(id)))) if (info) infos.push(info);
    }
    return infos.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }
}
