/** Longest stretch (ms) of engine pumping before timers, I/O and signals get a turn. */
export const SLICE_MS = 10;

let sliceStart = performance.now();
let turn: Promise<void> | undefined;

/**
 * Lets the event loop breathe during long chains of promise work: a stream whose values are
 * all ready resolves promise after promise in the microtask queue, which never hands control
 * back to HTTP, timers or SIGTERM. Returns undefined while the current time slice lasts (the
 * caller goes on without awaiting, so the check costs one clock read), then a promise that
 * resolves on the next macrotask turn. Shared by every run in the process: once one run has
 * used the slice, all of them wait for the same turn.
 *
 * @example
 * const turn = eventLoopTurn();
 * if (turn) await turn;
 */
export function eventLoopTurn(): Promise<void> | undefined {
  if (turn) return turn;
  if (performance.now() - sliceStart < SLICE_MS) return undefined;
  turn = new Promise<void>((resolve) =>
    setImmediate(() => {
      turn = undefined;
      sliceStart = performance.now();
      resolve();
    }),
  );
  return turn;
}
