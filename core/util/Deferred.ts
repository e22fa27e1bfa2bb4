/** A promise with its resolve/reject exposed; rejections are pre-handled to avoid unhandled warnings. */
export class Deferred<T> {
  readonly promise: Promise<T>;
  resolve!: (value: T) => void;
  reject!: (reason: unknown) => void;
  settled = false;

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = (v) => {
        if (this.settled) return;
        this.settled = true;
        resolve(v);
      };
      this.reject = (e) => {
        if (this.settled) return;
        this.settled = true;
        reject(e);
      };
    });
    // Marks the rejection handled when nobody waits on it; whoever awaits the promise still sees it.
    this.promise.catch(() => undefined);
  }
}
