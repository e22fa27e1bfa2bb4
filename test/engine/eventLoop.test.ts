import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { collectRun, createEngine, createLogger } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import type { ExecutionEvent } from '../../core/engine/events.ts';

const engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => undefined) });

/** A stream whose values are all ready at once, into a mapped sink: promise work only, no I/O. */
const stream = (count: number) => ({ format: 'tessera-graph', version: 1, nodes: { c: { type: 'core/CountStream', params: { count } }, p: { type: 'core/Print', inputs: { value: { node: 'c', output: 'value' } } } } });

test('stream pumping yields to the event loop: a timer fires long before a 100k-value stream ends', async () => {
  let events = 0;
  let atTimer: number | undefined;
  await new Promise<void>((resolve, reject) => {
    engine.run(stream(100_000)).subscribe({ next: () => events++, error: reject, complete: resolve });
    setTimeout(() => (atTimer = events), 0);
  });
  assert.ok(events > 400_000, `${events} events`);
  assert.ok(atTimer !== undefined && atTimer < events / 2, `the timer fired after ${atTimer} of ${events} events`);
});

test('backpressure: while the hook returns a promise, streams wait; they go on once it resolves', async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let hold: Promise<void> | undefined;
  const events: ExecutionEvent[] = [];
  let done = false;
  engine.run(stream(1000), { backpressure: () => hold }).subscribe({
    next: (e) => {
      events.push(e);
      if (events.length === 100) hold = gate;
    },
    complete: () => (done = true),
  });
  await new Promise((r) => setTimeout(r, 20));
  const held = events.length;
  await new Promise((r) => setTimeout(r, 100));
  assert.not.ok(done, 'the run waits while held');
  assert.is(events.length, held, 'no stream values while held');
  hold = undefined;
  release();
  for (let i = 0; i < 200 && !done; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(done);
  assert.is(events[events.length - 1]!.type, 'run:done');
});

test('backpressure does not outlast cancellation', async () => {
  const controller = new AbortController();
  const never = new Promise<void>(() => undefined);
  const run = collectRun(engine.run(stream(1000), { backpressure: () => never, signal: controller.signal }));
  setTimeout(() => controller.abort(), 20);
  assert.is((await run).status, 'cancelled');
});

test('node id "__proto__": results keep it as an own key and Object.prototype stays clean', async () => {
  const doc = JSON.parse('{"format":"tessera-graph","version":1,"nodes":{"__proto__":{"type":"core/Number","params":{"value":3}},"n":{"type":"core/Number","params":{"value":4}}}}');
  if (engine.validate(doc).length) return; // refusing such ids at validation is fine too
  const { status, results } = await collectRun(engine.run(doc));
  assert.is(status, 'done');
  assert.ok(Object.hasOwn(results, '__proto__'));
  assert.equal(results['__proto__'], { value: 3 });
  assert.equal(results.n, { value: 4 });
  assert.is(Object.getPrototypeOf(results), Object.prototype);
  assert.is(({} as Record<string, unknown>).value, undefined);
});

test.run();
