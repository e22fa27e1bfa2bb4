/**
 * The value (or failure) of one output port in one run, readable synchronously once settled.
 * The executor starts a node only when the ports it reads have settled, so the usual read costs
 * no promise at all; a promise is made only for a reader that has to wait (a consumer started
 * early because one of its sources failed while others are still running). Settles once: later
 * calls are ignored, as with a promise.
 *
 * @example
 * const slot = new PortSlot<number>();
 * slot.resolve(1);
 * slot.read(); // 1
 */
export class PortSlot<T> {
  /** 0 pending, 1 resolved, 2 rejected. */
  #state: 0 | 1 | 2 = 0;
  #value: T | undefined;
  #error: unknown;
  #promise: Promise<T> | undefined;
  #settle: ((state: 1 | 2, value: unknown) => void) | undefined;

  get settled(): boolean {
    return this.#state !== 0;
  }

  /** Whether it settled with a value (false while pending or after a failure). */
  get resolved(): boolean {
    return this.#state === 1;
  }

  /** Settles with `value`; true if this call settled it. */
  resolve(value: T): boolean {
    if (this.#state !== 0) return false;
    this.#state = 1;
    this.#value = value;
    this.#settle?.(1, value);
    return true;
  }

  /** Settles with a failure; true if this call settled it. */
  reject(error: unknown): boolean {
    if (this.#state !== 0) return false;
    this.#state = 2;
    this.#error = error;
    this.#settle?.(2, error);
    return true;
  }

  /** The value of a settled slot; throws its failure. Only call when `settled`. */
  read(): T {
    if (this.#state === 2) throw this.#error;
    return this.#value as T;
  }

  /** A promise of the value, made on first request. */
  get promise(): Promise<T> {
    if (this.#promise) return this.#promise;
    if (this.#state === 1) return (this.#promise = Promise.resolve(this.#value as T));
    if (this.#state === 2) {
      this.#promise = Promise.reject(this.#error);
    } else {
      this.#promise = new Promise<T>((resolve, reject) => {
        this.#settle = (state, value) => (state === 1 ? resolve(value as T) : reject(value));
      });
    }
    // Handled here so a failure nobody awaits is not an unhandled rejection; awaiting still throws.
    this.#promise.catch(() => undefined);
    return this.#promise;
  }
}
