import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, collectRun, type ExecutionEvent } from 'tessera';
import { createTestPack, graph, link } from './testNodes.ts';

async function setup() {
  const pack = createTestPack();
  const engine = await createEngine({ plugins: [pack.plugin] });
  return { ...pack, engine };
}

const chain = (value = 1) =>
  graph({
    a: { type: 'test/Value', params: { value } },
    b: { type: 'test/Value', params: { value: 10 } },
    sum: { type: 'test/Add', inputs: { a: link('a'), b: link('b') } },
    out: { type: 'test/Add', inputs: { a: link('sum') } },
  });

test('full cache: an identical second run executes nothing', async () => {
  const { engine, calls } = await setup();
  const first = await collectRun(engine.run(chain()));
  assert.is(first.status, 'done');
  assert.equal(first.results, { out: { value: 11 } });
  calls.length = 0;
  const second = await collectRun(engine.run(chain()));
  assert.equal(calls, []);
  assert.equal([...second.cached].sort(), ['a', 'b', 'out', 'sum']);
  assert.equal(second.results, { out: { value: 11 } });
});

test('partial cache: changing one param re-runs that node and its descendants only', async () => {
  const { engine, calls } = await setup();
  await collectRun(engine.run(chain(1)));
  calls.length = 0;
  const run = await collectRun(engine.run(chain(5)));
  assert.equal(calls.sort(), ['a', 'out', 'sum']);
  assert.equal(run.cached, ['b']);
  assert.equal(run.results, { out: { value: 15 } });
});

test('structurally identical subgraphs share cache entries whatever their ids', async () => {
  const { engine, calls } = await setup();
  await collectRun(engine.run(chain()));
  calls.length = 0;
  const renamed = graph({
    x: { type: 'test/Value', params: { value: 1 } },
    y: { type: 'test/Value', params: { value: 10 } },
    s: { type: 'test/Add', inputs: { a: link('x'), b: link('y') } },
    o: { type: 'test/Add', inputs: { a: link('s') } },
  });
  await collectRun(engine.run(renamed));
  assert.equal(calls, []);
});

test('unused branch is not executed', async () => {
  const { engine, calls } = await setup();
  const g = graph({
    a: { type: 'test/Value', params: { value: 1 } },
    unused: { type: 'test/Value', params: { value: 2 } },
    used: { type: 'test/Add', inputs: { a: link('a') } },
    dead: { type: 'test/Add', inputs: { a: link('unused') } },
  });
  const run = await collectRun(engine.run(g, { targets: ['used'] }));
  assert.equal(calls.sort(), ['a', 'used']);
  assert.equal(run.results, { used: { value: 1 } });
});

test('error in one branch: the other branch completes, descendants are skipped, run fails listing the error', async () => {
  const { engine, calls } = await setup();
  const g = graph({
    a: { type: 'test/Value', params: { value: 3 } },
    bad: { type: 'test/Fail', params: { message: 'kaput' }, inputs: { a: link('a') } },
    afterBad: { type: 'test/Add', inputs: { a: link('bad') } },
    good: { type: 'test/Add', inputs: { a: link('a') } },
  });
  const run = await collectRun(engine.run(g));
  assert.is(run.status, 'failed');
  assert.ok(calls.includes('good'));
  assert.not.ok(calls.includes('afterBad'));
  assert.is(run.errors.length, 1);
  const err = run.errors[0]!;
  assert.is(err.nodeId, 'bad');
  assert.is(err.message, 'kaput');
  assert.equal(err.inputs, { a: '3' });
  assert.ok(err.stack?.includes('kaput'));
  const skipped = run.events.find((e) => e.type === 'node:skipped') as Extract<ExecutionEvent, { type: 'node:skipped' }>;
  assert.is(skipped.nodeId, 'afterBad');
  assert.match(skipped.reason, /upstream node "bad" failed/);
  const doneGood = run.events.find((e) => e.type === 'node:done' && e.nodeId === 'good');
  assert.ok(doneGood);
});

test('a failed node is not cached: the next run tries it again', async () => {
  const { engine, calls } = await setup();
  const g = graph({ bad: { type: 'test/Fail' } });
  await collectRun(engine.run(g));
  await collectRun(engine.run(g));
  assert.equal(calls, ['bad', 'bad']);
});

test('custom fingerprint: re-runs only when the fingerprint changes', async () => {
  const { engine, calls, fingerprints } = await setup();
  const g = graph({ f: { type: 'test/Fingerprinted', params: { source: 'x' } } });
  fingerprints.set('x', '1');
  await collectRun(engine.run(g));
  await collectRun(engine.run(g));
  assert.equal(calls, ['f']);
  fingerprints.set('x', '2');
  const run = await collectRun(engine.run(g));
  assert.equal(calls, ['f', 'f']);
  assert.equal(run.results, { f: { value: 2 } });
});

test('async nodes on independent branches overlap in time', async () => {
  const { engine, active } = await setup();
  const g = graph({
    s1: { type: 'test/Sleep', params: { ms: 60 } },
    s2: { type: 'test/Sleep', params: { ms: 60 } },
    s3: { type: 'test/Sleep', params: { ms: 60 } },
  });
  const run = await collectRun(engine.run(g));
  assert.is(run.status, 'done');
  assert.is(active.max, 3);
});

test('concurrency option limits how many nodes execute at once', async () => {
  const { engine, active } = await setup();
  const g = graph({ s1: { type: 'test/Sleep', params: { ms: 20 } }, s2: { type: 'test/Sleep', params: { ms: 20 } }, s3: { type: 'test/Sleep', params: { ms: 20 } } });
  await collectRun(engine.run(g, { concurrency: 1 }));
  assert.is(active.max, 1);
});

test('output reuse: one node feeding several consumers runs once', async () => {
  const { engine, calls } = await setup();
  const g = graph({
    a: { type: 'test/Value', params: { value: 2 } },
    c1: { type: 'test/Add', inputs: { a: link('a'), b: link('a') } },
    c2: { type: 'test/Add', inputs: { a: link('a') } },
    c3: { type: 'test/Add', inputs: { a: link('c1'), b: link('c2') } },
  });
  const run = await collectRun(engine.run(g));
  assert.is(calls.filter((c) => c === 'a').length, 1);
  assert.equal(run.results, { c3: { value: 6 } });
});

test('determinism: same graph + seed → same outputs; another seed → different', async () => {
  const { engine } = await setup();
  const g = graph({ r: { type: 'test/Random' }, r2: { type: 'test/Random' } });
  const a = await collectRun(engine.run(g, { seed: 7, useCache: false }));
  const fresh = await setup();
  const b = await collectRun(fresh.engine.run(g, { seed: 7, useCache: false }));
  const c = await collectRun(engine.run(g, { seed: 8, useCache: false }));
  assert.equal(a.results, b.results);
  assert.is.not(a.results.r!.value, c.results.r!.value);
  // Distinct nodes get distinct streams.
  assert.is.not(a.results.r!.value, a.results.r2!.value);
});

test('a seed-dependent result is cached per seed', async () => {
  const { engine, calls } = await setup();
  const g = graph({ r: { type: 'test/Random' }, s: { type: 'test/Add', inputs: { a: link('r') } } });
  const a = await collectRun(engine.run(g, { seed: 1 }));
  const b = await collectRun(engine.run(g, { seed: 2 }));
  const a2 = await collectRun(engine.run(g, { seed: 1 }));
  assert.is.not(a.results.s!.value, b.results.s!.value);
  assert.equal(a2.results, a.results);
  // seed 1, seed 2 executed; the second seed-1 run re-executes because the entry was replaced by seed 2.
  assert.is(calls.filter((c) => c === 'r').length, 3);
});

test('event order per node and a single terminal event', async () => {
  const { engine } = await setup();
  const run = await collectRun(engine.run(chain()));
  const types = run.events.filter((e) => 'nodeId' in e && e.nodeId === 'sum').map((e) => e.type);
  assert.equal(types, ['node:queued', 'node:start', 'node:output', 'node:done']);
  assert.is(run.events[0]!.type, 'run:start');
  assert.is(run.events.filter((e) => e.type.startsWith('run:') && e.type !== 'run:start').length, 1);
  run.events.forEach((e, i) => assert.is(e.seq, i));
});

test('invalid graph: one run:failed with all issues and no node runs', async () => {
  const { engine, calls } = await setup();
  const g = graph({ a: { type: 'test/Value' }, x: { type: 'test/Nope' }, y: { type: 'test/Add', inputs: { a: link('ghost') } } });
  const run = await collectRun(engine.run(g));
  assert.is(run.status, 'failed');
  assert.equal(run.issues.map((i) => i.code).sort(), ['dangling_link', 'unknown_node_type']);
  assert.equal(calls, []);
  assert.is(run.events.length, 1);
});

test('disabled node: skipped with its descendants, others run', async () => {
  const { engine, calls } = await setup();
  const g = graph({ a: { type: 'test/Value', disabled: true }, b: { type: 'test/Add', inputs: { a: link('a') } }, c: { type: 'test/Value' } });
  const run = await collectRun(engine.run(g));
  assert.equal(calls, ['c']);
  assert.equal(run.events.filter((e) => e.type === 'node:skipped').map((e) => (e as { nodeId: string }).nodeId), ['a', 'b']);
});

test.run();
