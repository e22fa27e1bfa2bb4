import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { toDiskWriteError } from '../util/diskError.ts';

/**
 * The files of a run record in its directory: the graph as run, the summary (written when the
 * run is claimed and again when it ends) and every event, appended as it happens.
 */
export const RECORD_FILES = { summary: 'run.json', graph: 'graph.json', events: 'events.jsonl' } as const;

/**
 * What earlier run record `dir` holds, in words ("run.json says done"), or undefined when
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
