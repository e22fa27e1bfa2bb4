import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';

/** A wire event read back from an events.jsonl. */
export type RecordedEvent = Record<string, unknown>;

/**
 * Up to `limit` events of an events.jsonl from position `since` (0-based line number). A torn
 * last line (a process killed mid-write) is left out. A missing file gives no events.
 */
export async function readEventLines(path: string, since: number, limit: number): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  if (limit <= 0) return events;
  await forEachEvent(path, since, (event) => {
    events.push(event);
    return events.length < limit;
  });
  return events;
}

/** Calls `each` with the events from line `since` on, while it returns true (a missing file: none). */
export async function forEachEvent(path: string, since: number, each: (event: RecordedEvent) => boolean): Promise<void> {
  try {
    await stat(path);
  } catch {
    return; // no events.jsonl yet: a run that has emitted nothing
  }
  const stream = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let position = 0;
  try {
    for await (const line of lines) {
      if (!line) continue;
      if (position++ < since) continue;
      const event = parseEvent(line);
      if (event && !each(event)) break;
    }
  } catch {
    // A file that vanishes mid-read (a record deleted with --force) ends the listing.
  } finally {
    lines.close();
    stream.destroy();
  }
}

/** The last whole event of an events.jsonl (read from its end, so a huge log costs nothing). */
export async function lastEvent(path: string): Promise<RecordedEvent | undefined> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    const length = Math.min(size, 256 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    for (let i = lines.length - 1; i >= (length < size ? 1 : 0); i--) {
      const event = lines[i] ? parseEvent(lines[i]!) : undefined;
      if (event) return event;
    }
    return undefined;
  } catch {
    return undefined; // no readable events.jsonl: a run with no recorded events
  } finally {
    await handle?.close().catch(() => undefined); // a read-only handle loses nothing on a failed close
  }
}

/** One line as an event: a JSON object with a string `type`, else undefined (a torn line). */
function parseEvent(line: string): RecordedEvent | undefined {
  try {
    const v = JSON.parse(line) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) && typeof (v as { type?: unknown }).type === 'string' ? (v as RecordedEvent) : undefined;
  } catch {
    return undefined; // a torn line (a process killed mid-write) is not an event
  }
}
