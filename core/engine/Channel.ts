/**
 * A bounded stream with a fixed number of readers, each reading every value in order. The
 * producer's `push` waits while the slowest reader is `highWater` values behind, so a fast
 * producer cannot grow memory without limit. A reader that stops early (`return()`) no longer
 * holds the producer back. With no readers at all, values are dropped.
 *
 * @example
 * const ch = new Channel<number>(1, 2);
 * const it = ch.reader(0);
 * await ch.push(1); ch.close();
 * await it.next(); // { value: 1, done: false }
 */
export class Channel<T> {
  readonly highWater: number;
  readonly #buffer: T[] = [];
  #base = 0;
  readonly #cursors: number[];
  #closed = false;
  #failed: { error: unknown } | undefined;
  #producerWaiters: (() => void)[] = [];
  #readerWaiters: (() => void)[] = [];
  #pushed = 0;

  constructor(readers: number, highWater = 16) {
    this.highWater = Math.max(1, highWater);
    this.#cursors = new Array<number>(readers).fill(0);
  }

  /** Values pushed so far. */
  get pushed(): number {
    return this.#pushed;
  }

  /** Values held for the slowest active reader. */
  get buffered(): number {
    return this.#base + this.#buffer.length - this.#minCursor();
  }

  /** Adds a value; the returned promise resolves when there is room for the next one. */
  push(value: T): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed.error);
    if (this.#closed) return Promise.reject(new Error('push after close'));
    this.#pushed++;
    if (!this.#cursors.some((c) => c !== Infinity)) return Promise.resolve();
    this.#buffer.push(value);
    this.#wakeReaders();
    if (this.buffered < this.highWater) return Promise.resolve();
    return new Promise((resolve) => this.#producerWaiters.push(resolve));
  }

  /** No more values; readers finish after draining. */
  close(): void {
    this.#closed = true;
    this.#wakeReaders();
  }

  /** Readers see `error` after draining what was pushed before; a waiting producer is released. */
  fail(error: unknown): void {
    if (this.#closed || this.#failed) return;
    this.#failed = { error };
    this.#wakeReaders();
    this.#wakeProducer(true);
  }

  /** The iterator for reader number `index` (each index once). */
  reader(index: number): AsyncIterableIterator<T> {
    const next = async (): Promise<IteratorResult<T>> => {
      for (;;) {
        const cursor = this.#cursors[index]!;
        if (cursor === Infinity) return { value: undefined, done: true };
        if (cursor < this.#base + this.#buffer.length) {
          const value = this.#buffer[cursor - this.#base]!;
          this.#cursors[index] = cursor + 1;
          this.#trim();
          return { value, done: false };
        }
        if (this.#failed) throw this.#failed.error;
        if (this.#closed) return { value: undefined, done: true };
        await new Promise<void>((resolve) => this.#readerWaiters.push(resolve));
      }
    };
    const release = async (): Promise<IteratorResult<T>> => {
      this.release(index);
      return { value: undefined, done: true };
    };
    const it: AsyncIterableIterator<T> = { next, return: release, [Symbol.asyncIterator]: () => it };
    return it;
  }

  /** Reader `index` will read no more; it stops holding the producer back. */
  release(index: number): void {
    if (this.#cursors[index] === Infinity) return;
    this.#cursors[index] = Infinity;
    this.#trim();
  }

  #minCursor(): number {
    let min = Infinity;
    for (const c of this.#cursors) if (c < min) min = c;
    return min === Infinity ? this.#base + this.#buffer.length : min;
  }

  #trim(): void {
    const drop = this.#minCursor() - this.#base;
    if (drop > 0) {
      this.#buffer.splice(0, drop);
      this.#base += drop;
    }
    this.#wakeProducer(false);
  }

  #wakeProducer(all: boolean): void {
    if (!this.#producerWaiters.length || (!all && this.buffered >= this.highWater)) return;
    const waiters = this.#producerWaiters;
    this.#producerWaiters = [];
    for (const w of waiters) w();
  }

  #wakeReaders(): void {
    const waiters = this.#readerWaiters;
    this.#readerWaiters = [];
    for (const w of waiters) w();
  }
}
