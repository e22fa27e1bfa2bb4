import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { lastEvent } from './readEvents.ts';
import { RECORD_FILES } from './recordFiles.ts';
import { parseRunRecord, TERMINAL_STATUS, type RunRecord } from './RunRecord.ts';
import { writeRunJson } from './RunRecordWriter.ts';

/** Where a warning about a record goes (the engine's logger, in practice). */
export interface RecordLogger {
  warn(message: string): void;
}

/**
 * `dir`'s run.json as a {@link RunRecord} (any of the shapes of parseRunRecord), or undefined
 * when the directory holds no readable run record.
 */
export async function readRunRecord(dir: string): Promise<RunRecord | undefined> {
  const path = join(dir, RECORD_FILES.summary);
  let text: string;
  let mtime: Date;
  try {
    [text, mtime] = await Promise.all([readFile(path, 'utf8'), stat(path).then((s) => s.mtime)]);
  } catch {
    return undefined; // no run.json: not a run directory
  }
  try {
    return parseRunRecord(JSON.parse(text), mtime);
  } catch {
    return undefined; // not JSON: not a record this version can list
  }
}

/** Whether process `pid` is alive on this machine (and is not this process). */
function otherProcessAlive(pid: number | undefined): boolean {
  if (pid === undefined || pid === process.pid || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, but another user's
  }
}

/**
 * What became of a run whose record says queued or running. If its events end it (the process
 * died between the last event and the final record), that ending; else it is `interrupted`, unless
 * the record is the CLI's and its process still lives (a run going on right now). A finished
 * record, or one of a live CLI run, is returned as it is; `changed` says whether it was settled.
 * Event counts missing from old records are taken from the last event.
 */
export async function settleRunRecord(dir: string, record: RunRecord): Promise<{ record: RunRecord; changed: boolean }> {
  const unfinished = record.status === 'queued' || record.status === 'running';
  if (!unfinished && record.eventCount > 0) return { record, changed: false };
  const last = await lastEvent(join(dir, RECORD_FILES.events));
  const eventCount = last && typeof last.seq === 'number' ? last.seq + 1 : record.eventCount;
  if (!unfinished || (record.writer === 'cli' && otherProcessAlive(record.pid))) return { record: { ...record, eventCount }, changed: false };
  const ended = last ? TERMINAL_STATUS.get(String(last.type)) : undefined;
  const errors = last?.type === 'run:failed' && Array.isArray(last.errors) ? (last.errors as RunRecord['errors']) : record.errors;
  const { pid: _pid, ...rest } = record;
  return {
    record: { ...rest, status: ended ?? 'interrupted', eventCount, ...(errors?.length ? { errors } : {}), ...(typeof last?.durationMs === 'number' ? { durationMs: last.durationMs } : {}) },
    changed: true,
  };
}

/**
 * The run records in `runsDir` (one per directory whose name `accept`s), settled: a run left
 * queued or running by a process that is gone is rewritten as it ended (usually
 * `interrupted`), so the next reader need not guess again. A rewrite that fails is logged; the
 * run is listed as settled anyway. A missing `runsDir` has no records.
 */
export async function listRunRecords(runsDir: string, accept: (name: string) => boolean, logger?: RecordLogger): Promise<{ name: string; record: RunRecord }[]> {
  let names: string[];
  try {
    names = await readdir(runsDir);
  } catch {
    return []; // no runs folder yet: no history
  }
  const found: { name: string; record: RunRecord }[] = [];
  for (const name of names) {
    if (!accept(name)) continue;
    const dir = join(runsDir, name);
    const read = await readRunRecord(dir);
    if (!read) continue;
    const { record, changed } = await settleRunRecord(dir, read);
    if (changed) await writeRunJson(dir, record).catch((error: unknown) => logger?.warn(`could not settle the run record of ${name}: ${(error as Error).message}`));
    found.push({ name, record });
  }
  return found;
}
