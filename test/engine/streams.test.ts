import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, collectRun, Channel } from 'tessera';
import { lastValueFrom, toArray, takeWhile } from 'rxjs';
import { createTestPack, graph, link } from './testNodes.ts';
import core from '../../plugins/core/index.ts';

async function setup() {
  const pack = createTestPack();
  const engine = await createEngine({ plugins: [pack.plugin, core] });
  return { ...pack, engine };
}

test('Channel: push waits while the slowest reader is highWater behind', async () => {
  const ch = new Channel<number>(2, 2);
  const fast = ch.reader(0);
  const slow = ch.reader(1);
  let resolved = 0;
  void ch.push(1).then(() => resolved++);
  const p2 = ch.push(2).then(() => resolved++);
  await Promise.resolve();
  assert.is(ch.buffered, 2);
  await fast.next();
  await fast.next();
  await new Promise((r) => setTimeout(r, 0));
  assert.is(resolved, 1, 'second push still waits for the slow reader');
  assert.equal(await slow.next(), { value: 1, done: false });
  await p2;
  assert.is(resolved, 2);
  ch.close();
  assert.equal(await slow.next(), { value: 2, done: false });
  assert.equal(await slow.next(), { value: undefined, done: true });
});

test('Channel: a released reader no longer holds the producer back; failure reaches readers after draining', async () => {
  const ch = new Channel<number>(2, 1);
  const a = ch.reader(0);
  void ch.reader(1).return!();
  const pushed = ch.push(1);
  assert.equal(await a.next(), { value: 1, done: false });
  await pushed; // only reader 0 counted: it has read, so there is room again
  void ch.push(2);
  ch.fail(new Error('broken'));
  assert.equal(await a.next(), { value: 2, done: false });
  try {
    await a.next();
    assert.unreachable();
  } catch (e) {
    assert.is((e as Error).message, 'broken');
  }
});

test('stream backpressure: a fast producer stays within the buffer of a slow consumer', async () => {
  const { engine } = await setup();
  const g = graph({ src: { type: 'test/Source', params: { count: 200 } }, sink: { type: 'test/SlowSink', inputs: { stream: link('src') } } });
  const run = await collectRun(engine.run(g, { streamHighWater: 4 }));
  assert.is(run.status, 'done');
  const lead = run.results.sink!.lead as number[];
  assert.is(lead.length, 200);
  // How far the producer got beyond what the consumer had read: bounded by the buffer (+1 in flight).
  assert.ok(Math.max(...lead) <= 5, `producer ran ${Math.max(...lead)} ahead`);
});

test('a consumer that stops early releases the producer', async () => {
  const { engine, produced } = await setup();
  const g = graph({ src: { type: 'test/Source', params: { count: 1000 } }, sink: { type: 'test/SlowSink', params: { take: 3 }, inputs: { stream: link('src') } } });
  const run = await collectRun(engine.run(g, { streamHighWater: 2 }));
  assert.is(run.status, 'done');
  assert.is((run.results.sink!.lead as number[]).length, 3);
  assert.ok(produced.count >= 3);
});

test('map mode: a plain input fed by a stream runs the node per value, in order', async () => {
  const { engine } = await setup();
  const g = graph({
    src: { type: 'core/CountStream', params: { start: 1, count: 5 } },
    sq: { type: 'core/Math', params: { op: 'power', b: 2 }, inputs: { a: link('src') } },
    plus: { type: 'core/Math', params: { op: 'add', b: 1 }, inputs: { a: link('sq', 'result') } },
    col: { type: 'core/Collect', inputs: { stream: link('plus', 'result') } },
    col2: { type: 'core/Collect', inputs: { stream: link('src') } },
  });
  const run = await collectRun(engine.run(g));
  assert.equal(run.results.col, { list: [2, 5, 10, 17, 26] });
  assert.equal(run.results.col2, { list: [1, 2, 3, 4, 5] });
  const outs = run.events.filter((e) => e.type === 'node:output' && e.nodeId === 'sq').map((e) => (e as { index?: number }).index);
  assert.equal(outs, [0, 1, 2, 3, 4]);
});

test('cancellation by AbortSignal: running nodes stop promptly, run:cancelled is the last event', async () => {
  const { engine } = await setup();
  const g = graph({ s: { type: 'test/Sleep', params: { ms: 10_000 } }, after: { type: 'test/Add', inputs: { a: link('s') } } });
  const controller = new AbortController();
  const t0 = performance.now();
  const events$ = engine.run(g, { signal: controller.signal });
  const done = lastValueFrom(events$.pipe(toArray()));
  setTimeout(() => controller.abort(), 50);
  const events = await done;
  assert.ok(performance.now() - t0 < 2000, 'cancelled promptly');
  assert.is(events[events.length - 1]!.type, 'run:cancelled');
  const skipped = events.filter((e) => e.type === 'node:skipped').map((e) => (e as { nodeId: string }).nodeId);
  assert.equal(skipped.sort(), ['after', 's']);
});

test('cancellation by unsubscribe aborts the signal a running node sees', async () => {
  const pack = createTestPack();
  let sawAbort = false;
  const engine = await createEngine({ plugins: [pack.plugin] });
  const g = graph({ s: { type: 'test/Sleep', params: { ms: 10_000 } } });
  await new Promise<void>((resolve) => {
    const sub = engine.run(g).subscribe((e) => {
      if (e.type !== 'node:start') return;
      setTimeout(() => {
        assert.is(pack.active.now, 1, 'sleeping');
        sub.unsubscribe();
        setTimeout(() => {
          sawAbort = pack.active.now === 0;
          resolve();
        }, 20);
      }, 10);
    });
  });
  assert.ok(sawAbort, 'the sleeping node was interrupted');
});

test('cancelling a stream stops the producer', async () => {
  const { engine } = await setup();
  const g = graph({ src: { type: 'core/CountStream', params: { count: 1000, intervalMs: 5 } }, col: { type: 'core/Collect', inputs: { stream: link('src') } } });
  const controller = new AbortController();
  const events = await lastValueFrom(
    engine.run(g, { signal: controller.signal }).pipe(
      takeWhile((e) => {
        if (e.type === 'node:output' && e.nodeId === 'src' && e.index === 3) controller.abort();
        return true;
      }),
      toArray(),
    ),
  );
  assert.is(events[events.length - 1]!.type, 'run:cancelled');
  const produced = events.filter((e) => e.type === 'node:output' && e.nodeId === 'src').length;
  assert.ok(produced < 10, `producer stopped after ${produced} values`);
});

test('a failing stream producer skips its consumers with the reason', async () => {
  const pack = createTestPack();
  const { defineNode, definePlugin } = await import('tessera');
  const Broken = defineNode({
    type: 'x/Broken', title: 'Broken', category: 'x', description: 'fails mid-stream', version: '1.0.0', inputs: {}, outputs: { v: { type: 'NUMBER', stream: true } },
    async *execute() {
      yield { v: 1 };
      throw new Error('stream broke');
    },
  });
  const engine = await createEngine({ plugins: [pack.plugin, core, definePlugin({ name: 'x', version: '1.0.0', nodes: [Broken] })] });
  const run = await collectRun(engine.run(graph({ b: { type: 'x/Broken' }, col: { type: 'core/Collect', inputs: { stream: link('b', 'v') } } })));
  assert.is(run.status, 'failed');
  assert.equal(run.errors.map((e) => e.nodeId), ['b']);
  assert.ok(run.events.some((e) => e.type === 'node:skipped' && e.nodeId === 'col'));
});

test.run();
