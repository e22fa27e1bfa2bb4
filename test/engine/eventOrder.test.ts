import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, collectRun, type ExecutionEvent } from 'tessera';
import { createTestPack, graph, link } from './testNodes.ts';
import { rng } from '../support/mulberry32.ts';

// The executor starts a node when the ports it reads have settled (not by awaiting a promise per
// port); these pin what its consumers rely on, on graphs big and irregular enough to interleave.


/** A random DAG of Value/Add/Fail (and Sleep when `async`) nodes, some disabled. */
function randomGraph(seed: number, n: number, async: boolean) {
  const r = rng(seed);
  const nodes: Record<string, Record<string, unknown>> = {};
  const inputsOf = new Map<string, string[]>();
  for (let i = 0; i < n; i++) {
    const id = `n${i}`;
    const from = i === 0 ? [] : [...new Set([Math.floor(r() * i), Math.floor(r() * i)])];
    const roll = r();
    let node: Record<string, unknown>;
    if (i < 3 || roll < 0.1) node = { type: 'test/Value', params: { value: i } };
    else if (roll < 0.14) node = { type: 'test/Fail', inputs: { a: link(`n${from[0]}`) } };
    else if (async && roll < 0.3) node = { type: 'test/Sleep', params: { ms: Math.floor(r() * 3) }, inputs: { a: link(`n${from[0]}`) } };
    else node = { type: 'test/Add', inputs: { a: link(`n${from[0]}`), ...(from[1] !== undefined ? { b: link(`n${from[1]}`) } : {}) } };
    if (r() < 0.02) node.disabled = true;
    nodes[id] = node;
    inputsOf.set(id, node.type === 'test/Value' ? [] : Object.values(node.inputs as Record<string, { node: string }>).map((l) => l.node));
  }
  return { doc: graph(nodes), nodes, inputsOf };
}

function checkInvariants(events: readonly ExecutionEvent[], g: ReturnType<typeof randomGraph>): void {
  assert.is(events[0]!.type, 'run:start');
  events.forEach((e, i) => assert.is(e.seq, i, 'seq counts from 0 without gaps'));
  const terminal = events.filter((e) => /^run:(done|failed|cancelled)$/.test(e.type));
  assert.is(terminal.length, 1);
  assert.is(terminal[0], events[events.length - 1]);
  const ids = Object.keys(g.nodes);
  // Every node queued once, all before anything else happens to any node.
  const queued = events.filter((e) => e.type === 'node:queued').map((e) => (e as { nodeId: string }).nodeId);
  assert.equal([...queued].sort(), [...ids].sort());
  assert.ok(events.slice(1, 1 + ids.length).every((e) => e.type === 'node:queued'));

  const at = (type: string, id: string) => events.findIndex((e) => e.type === type && 'nodeId' in e && e.nodeId === id);
  const outcome = new Map<string, string>();
  for (const id of ids) {
    const mine = events.filter((e) => 'nodeId' in e && e.nodeId === id).map((e) => e.type);
    const ends = mine.filter((t) => t === 'node:done' || t === 'node:error' || t === 'node:skipped');
    assert.is(ends.length, 1, `node ${id} ends once: ${mine.join(' ')}`);
    if (ends[0] === 'node:done') assert.equal(mine, ['node:queued', 'node:start', 'node:output', 'node:done'], id);
    else if (ends[0] === 'node:error') assert.equal(mine, ['node:queued', 'node:start', 'node:error'], id);
    else assert.equal(mine, ['node:queued', 'node:skipped'], id);
    outcome.set(id, ends[0]!);
  }
  for (const id of ids) {
    const node = g.nodes[id]!;
    const inputs = g.inputsOf.get(id)!;
    const upstreamOk = inputs.every((u) => outcome.get(u) === 'node:done');
    const expected = node.disabled || !upstreamOk ? 'node:skipped' : node.type === 'test/Fail' ? 'node:error' : 'node:done';
    assert.is(outcome.get(id), expected, `outcome of ${id}`);
    // A node starts only after everything it reads has finished.
    if (outcome.get(id) !== 'node:skipped') for (const u of inputs) assert.ok(at('node:done', u) < at('node:start', id), `${u} done before ${id} starts`);
  }
}

test('random DAGs: each node queued once and ending once, in per-node order, started only after its inputs are done', async () => {
  const pack = createTestPack();
  const engine = await createEngine({ plugins: [pack.plugin] });
  for (const seed of [1, 2, 3]) {
    const g = randomGraph(seed, 300, seed === 3);
    const run = await collectRun(engine.run(g.doc, { useCache: false }));
    checkInvariants(run.events, g);
  }
});

test('synchronous nodes: the same graph gives the same event sequence every run', async () => {
  const pack = createTestPack();
  const engine = await createEngine({ plugins: [pack.plugin] });
  const g = randomGraph(7, 400, false);
  const shape = (events: readonly ExecutionEvent[]) => events.map((e) => `${e.type} ${'nodeId' in e ? e.nodeId : ''}`);
  const first = shape((await collectRun(engine.run(g.doc, { useCache: false }))).events);
  const second = shape((await collectRun(engine.run(g.doc, { useCache: false }))).events);
  assert.equal(second, first);
});

test('a node whose first input failed is skipped without waiting for its slow second input', async () => {
  const pack = createTestPack();
  const engine = await createEngine({ plugins: [pack.plugin] });
  const g = graph({ f: { type: 'test/Fail' }, s: { type: 'test/Sleep', params: { ms: 200 } }, c: { type: 'test/Add', inputs: { a: link('f'), b: link('s') } } });
  const run = await collectRun(engine.run(g, { useCache: false }));
  const order = run.events.filter((e) => 'nodeId' in e && (e.type === 'node:skipped' || e.type === 'node:done')).map((e) => `${e.type} ${(e as { nodeId: string }).nodeId}`);
  assert.equal(order, ['node:skipped c', 'node:done s']);
  assert.is((run.events.find((e) => e.type === 'node:skipped') as { reason: string }).reason, 'upstream node "f" failed');
});

test('a chain of 10,000 synchronous nodes runs without deep recursion and ends in run:done', async () => {
  const pack = createTestPack();
  const engine = await createEngine({ plugins: [pack.plugin] });
  const nodes: Record<string, unknown> = { n0: { type: 'test/Value', params: { value: 1 } } };
  for (let i = 1; i < 10_000; i++) nodes[`n${i}`] = { type: 'test/Add', inputs: { a: link(`n${i - 1}`) } };
  const run = await collectRun(engine.run(graph(nodes), { useCache: false }));
  assert.is(run.status, 'done');
  assert.equal(run.results.n9999, { value: 1 });
});

test.run();
