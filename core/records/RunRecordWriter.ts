import { join } from 'node:path';
import { writeFileAtomic } from '../util/writeFileAtomic.ts';
import { EventLog, type EventLogOptions } from './EventLog.ts';
import { RECORD_FILES } from './recordFiles.ts';
import type { RunRecord } from './RunRecord.ts';

/**
 * Writes one run's record into its directory, for the CLI and the server alike: graph.json and
 * run.json atomically (temp + rename), in the order asked even when the caller does not wait,
 * and events.jsonl through an {@link EventLog}. Each write's promise rejects with a
 * DiskWriteError naming the file; a failed write does not stop the later ones.
 *
 * @example
 * const record = new RunRecordWriter(dir);
 * await record.begin(graph, () => ({ ...summary, status: 'running' }));
 * record.events.append(JSON.stringify(event));
 * await record.finish(() => ({ ...summary, status: 'done' }));
 */
export class RunRecordWriter {
  readonly dir: string;
  readonly events: EventLog;
  #last: Promise<unknown> = Promise.resolve();

  constructor(dir: string, options: EventLogOptions = {}) {
    this.dir = dir;
    this.events = new EventLog(join(dir, RECORD_FILES.events), options);
  }

  /** Settles once every write asked for so far has (succeeded or failed). */
  get written(): Promise<void> {
    return this.#last.then(() => undefined);
  }

  /**
   * Claims the directory: graph.json, then run.json (so a listed run always has its graph). The
   * summary is made when its turn comes, so it is current.
   */
  begin(graph: unknown, summary: () => RunRecord): Promise<void> {
    return this.update(summary, () => writeFileAtomic(join(this.dir, RECORD_FILES.graph), JSON.stringify(graph, null, 2) + '\n'));
  }

  /** Rewrites run.json (after `before`, e.g. flushing other files), after the writes already asked for. */
  update(summary: () => RunRecord, before?: () => Promise<unknown>): Promise<void> {
    const write = this.#last.then(async () => {
      await before?.();
      await writeRunJson(this.dir, summary());
    });
    // The chain only orders the writes; each write's own promise reports its failure.
    this.#last = write.catch(() => undefined);
    return write;
  }

  /** Closes events.jsonl (after `before`), then writes the final run.json. */
  finish(summary: () => RunRecord, before?: () => Promise<unknown>): Promise<void> {
    return this.update(summary, async () => {
      await before?.();
      await this.events.close();
    });
  }
}

/** Writes `record` as `<dir>/run.json`, atomically. */
export function writeRunJson(dir: string, record: RunRecord): Promise<void> {
  return writeFileAtomic(join(dir, RECORD_FILES.summary), JSON.stringify(record, null, 2) + '\n');
}
