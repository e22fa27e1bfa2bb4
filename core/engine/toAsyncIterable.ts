import { isObservable, type Observable } from 'rxjs';
import { NodeContractError } from './errors.ts';

/** Whether a value is an AsyncIterable (an async generator, a stream reader …). */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as Record<symbol, unknown>)[Symbol.asyncIterator] === 'function';
}

/**
 * Pulls an Observable as an async iterable. Observables cannot be paused, so values wait in a
 * local queue; past `limit` queued values the producer is outrunning its consumers and the
 * stream fails with a clear error instead of growing memory (async generators don't have this
 * problem: they are pulled).
 */
export async function* observableToAsyncIterable<T>(source: Observable<T>, limit: number): AsyncGenerator<T> {
  const queue: T[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const subscription = source.subscribe({
    next: (v) => {
      if (queue.length >= limit) {
        failure ??= { error: new NodeContractError(`stream producer emitted more than ${limit} values ahead of its consumers; Observables cannot be paused — return an async generator for back-pressure`) };
        subscription?.unsubscribe();
      } else queue.push(v);
      notify();
    },
    error: (e) => {
      failure = { error: e };
      notify();
    },
    complete: () => {
      done = true;
      notify();
    },
  });
  try {
    for (;;) {
      if (queue.length) {
        yield queue.shift()!;
        continue;
      }
      if (failure) throw failure.error;
      if (done) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    subscription.unsubscribe();
  }
}

/** Whether `execute` returned a stream of output objects (an Observable or an async iterable). */
export function isStreamResult(result: unknown): boolean {
  return isObservable(result) || isAsyncIterable(result);
}

/** Normalises whatever `execute` returned into an async iterable of output objects. */
export function toResultIterable(result: unknown, limit: number): AsyncIterable<unknown> | undefined {
  if (isObservable(result)) return observableToAsyncIterable(result, limit);
  if (isAsyncIterable(result)) return result;
  return undefined;
}
