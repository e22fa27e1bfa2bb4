import { forEachEvent } from '../records/readEvents.ts';

/** Recent events a run keeps in memory (the rest are in its events.jsonl). */
export const TAIL_EVENTS = 1000;

/**
 * What a client joining a run late is shown, in bounded memory however long the run: its
 * `run:start`, the latest event of each type of each node (so every node's state survives), and
 * the last {@link TAIL_EVENTS}–2×{@link TAIL_EVENTS} events. Events are wire objects with a
 * numeric `seq` equal to their position in the run.
 */
export class ReplayBuffer {
  #count = 0;
  #tail: Record<string, unknown>[] = [];
  #start: Record<string, unknown> | undefined;
  /** nodeId → type → latest event (node:log excluded: logs are history, not state). */
  readonly #latest = new Map<string, Map<string, Record<string, unknown>>>();

  /** Events added so far. */
  get count(): number {
    return this.#count;
  }

  /** Position of the first event still in the tail. */
  get tailStart(): number {
    return this.#count - this.#tail.length;
  }

  add(wire: Record<string, unknown>): void {
    this.#count++;
    this.#tail.push(wire);
    if (this.#tail.length >= 2 * TAIL_EVENTS) this.#tail.splice(0, this.#tail.length - TAIL_EVENTS);
    const type = String(wire.type);
    if (type === 'run:start') this.#start = wire;
    else if (typeof wire.nodeId === 'string' && type !== 'node:log') {
      let kinds = this.#latest.get(wire.nodeId);
      if (!kinds) this.#latest.set(wire.nodeId, (kinds = new Map()));
      kinds.set(type, wire);
    }
  }

  /** Keeps only the last `keep` tail events (a finished run need not hold its full tail). */
  trim(keep: number): void {
    if (this.#tail.length > keep) this.#tail.splice(0, this.#tail.length - keep);
  }

  /** Tail events from position `from` (at least {@link tailStart}), at most `limit`. */
  tail(from: number, limit: number): Record<string, unknown>[] {
    const i = Math.max(0, from - this.tailStart);
    return this.#tail.slice(i, i + Math.max(0, limit));
  }

  /** The replay: run:start, the latest per node and type that the tail has moved past, the tail; in `seq` order. */
  replay(): Record<string, unknown>[] {
    const first = this.tailStart;
    const older: Record<string, unknown>[] = [];
    if (this.#start && seqOf(this.#start) < first) older.push(this.#start);
    for (const kinds of this.#latest.values()) for (const w of kinds.values()) if (seqOf(w) < first) older.push(w);
    older.sort((a, b) => seqOf(a) - seqOf(b));
    return [...older, ...this.#tail];
  }
}

/** An event's `seq` (0 when it has none). */
export function seqOf(wire: Record<string, unknown>): number {
  return typeof wire.seq === 'number' ? wire.seq : 0;
}

/** The replay of a recorded run (see {@link ReplayBuffer}), in one pass over its events.jsonl. */
export async function readReplay(path: string): Promise<Record<string, unknown>[]> {
  const buffer = new ReplayBuffer();
  await forEachEvent(path, 0, (event) => {
    buffer.add(event);
    return true;
  });
  return buffer.replay();
}
