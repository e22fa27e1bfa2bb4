/** Small shared test helpers (not a test file). */
import * as assert from 'uvu/assert';

/** Asserts that `fn` rejects with an error whose message matches `re`. */
export async function rejects(fn: () => Promise<unknown>, re: RegExp): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    assert.match((e as Error).message, re);
    return e as Error;
  }
  assert.unreachable(`expected a rejection matching ${re}`);
  throw new Error('unreachable');
}

/** Asserts that `fn` throws an error whose message matches `re` and returns it. */
export function throwsWith(fn: () => unknown, re: RegExp): Error {
  try {
    fn();
  } catch (e) {
    assert.match((e as Error).message, re);
    return e as Error;
  }
  assert.unreachable(`expected an error matching ${re}`);
  throw new Error('unreachable');
}
