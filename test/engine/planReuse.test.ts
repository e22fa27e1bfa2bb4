import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createEngine, collectRun, planRun, type RunPlan } from 'tessera';
import { checkGraph } from '../../core/graph/validateGraph.ts';
import { createTestPack, graph, link } from './testNodes.ts';
import { rng } from '../support/mulberry32.ts';

// Engine.run plans with what validation learned (the link index, its topological order and the
// resolved params) instead of working it out again; these hold that to planning from scratch, and
// the index's cycle check to the cycles validation names.


/** Values, streamed Sources (so some Adds are mapped), Adds reading 1–2 earlier nodes, some disabled. */
function randomGraph(seed: number, n: number) {
  const r = rng(seed);
  const nodes: Record<string, Record<string, unknown>> = {};
  for (let i = 0; i < n; i++) {
    const roll = r();
    let node: Record<string, unknown>;
    if (i < 2 || roll < 0.12) node = { type: 'test/Value', params: { value: i } };
    else if (roll < 0.2) node = { type: 'test/Source', params: { count: 2 } };
    else {
      const a = Math.floor(r() * i);
      const b = r() < 0.5 ? Math.floor(r() * i) : undefined;
      node = { type: 'test/Add', inputs: { a: link(`n${a}`), ...(b !== undefined ? { b: link(`n${b}`) } : {}) } };
    }
    if (r() < 0.05) node.disabled = true;
    nodes[`n${i}`] = node;
  }
  return graph(nodes);
}

/**
 * The run order worked out naively from the document, as planning did before the index: Kahn's
 * algorithm on the needed nodes, queue seeded in file order, newly ready nodes appended sorted by
 * file position.
 */
function referenceOrder(doc: { nodes: Record<string, { inputs?: Record<string, { node: string }> }> }, needed: readonly string[]): string[] {
  const ids = Object.keys(doc.nodes).filter((id) => needed.includes(id));
  const pos = (id: string) => Object.keys(doc.nodes).indexOf(id);
  const deps = new Map(ids.map((id) => [id, new Set(Object.values(doc.nodes[id]!.inputs ?? {}).map((l) => l.node))]));
  const ready = ids.filter((id) => deps.get(id)!.size === 0);
  const done = new Set<string>();
  for (let head = 0; head < ready.length; head++) {
    done.add(ready[head]!);
    const next = ids.filter((id) => !done.has(id) && !ready.includes(id) && deps.get(id)!.has(ready[head]!) && [...deps.get(id)!].every((d) => done.has(d)));
    ready.push(...next.sort((x, y) => pos(x) - pos(y)));
  }
  return ready;
}

/** A plan as plain data, every field the executor or a caller reads. */
function plain(plan: RunPlan) {
  return {
    order: plan.order,
    targets: plan.targets,
    streamPorts: [...plan.streamPorts],
    readers: [...plan.readers],
    nodes: plan.order.map((id) => {
      const p = plan.nodes.get(id)!;
      return { id: p.id, type: p.def.type, params: p.params, links: { ...p.links }, deps: p.deps, mapped: p.mapped, disabled: p.disabled, provider: p.provider };
    }),
  };
}

test('planRun with what validation learned gives the plan planRun works out alone (random graphs, default and explicit targets)', async () => {
  const { plugin } = createTestPack();
  const engine = await createEngine({ plugins: [plugin] });
  let mapped = 0;
  for (let seed = 1; seed <= 25; seed++) {
    const doc = randomGraph(seed, 20 + seed * 7);
    const { issues, checked } = checkGraph(doc, engine.registry);
    assert.equal(issues, [], `seed ${seed}`);
    assert.ok(checked, `seed ${seed}: a valid graph comes with what validation learned`);
    const targets = seed % 3 === 0 ? [`n${seed % 11}`, 'n1'] : undefined;
    const alone = plain(planRun(doc as never, engine.registry, targets));
    assert.equal(plain(planRun(doc as never, engine.registry, targets, checked)), alone, `seed ${seed}`);
    assert.equal(alone.order, referenceOrder(doc as never, alone.order), `seed ${seed}: order`);
    mapped += alone.nodes.filter((p) => p.mapped).length;
    // Params come resolved, defaults filled in (Add has none: an empty object).
    for (const p of alone.nodes) if (p.type === 'test/Source') assert.equal(p.params, { count: 2 });
  }
  assert.ok(mapped > 0, 'the graphs exercise mapped nodes');
});

test('the topological index: every cycle is still named (self-link, two rings, a node downstream of one is not on it)', async () => {
  const { plugin } = createTestPack();
  const engine = await createEngine({ plugins: [plugin] });
  const doc = graph({
    v: { type: 'test/Value' },
    self: { type: 'test/Add', inputs: { a: link('self') } },
    a: { type: 'test/Add', inputs: { a: link('c') } },
    b: { type: 'test/Add', inputs: { a: link('a') } },
    c: { type: 'test/Add', inputs: { a: link('b'), b: link('v') } },
    after: { type: 'test/Add', inputs: { a: link('c') } },
    x: { type: 'test/Add', inputs: { a: link('y') } },
    y: { type: 'test/Add', inputs: { a: link('x') } },
  });
  const { issues, checked } = checkGraph(doc, engine.registry);
  assert.is(checked, undefined);
  assert.equal(
    issues.map((i) => [i.code, i.nodeId, i.pointer, i.message]),
    [
      ['cycle', 'self', '/nodes/self', 'cycle: self → self'],
      ['cycle', 'a', '/nodes/a', 'cycle: a → b → c → a'],
      ['cycle', 'x', '/nodes/x', 'cycle: x → y → x'],
    ],
  );
  // Without the cycles, the same graph runs, in file order where links allow.
  const acyclic = graph({
    v: { type: 'test/Value', params: { value: 2 } },
    a: { type: 'test/Add', inputs: { a: link('v') } },
    b: { type: 'test/Add', inputs: { a: link('a'), b: link('v') } },
  });
  const { status, events } = await collectRun(engine.run(acyclic, { useCache: false }));
  assert.is(status, 'done');
  assert.equal(events.filter((e) => e.type === 'node:start').map((e) => (e as { nodeId: string }).nodeId), ['v', 'a', 'b']);
});

test('links are checked against the index in file order: an unknown input, a list and a malformed link before them shift nothing', async () => {
  const { plugin } = createTestPack();
  const engine = await createEngine({ plugins: [plugin] });
  const doc = graph({
    v: { type: 'test/Value' },
    s: { type: 'test/Source' },
    add: {
      type: 'test/Add',
      inputs: { zzz: [link('v'), link('nowhere'), link('v')], a: [link('v'), link('gone')], b: link('missing') },
    },
    bad: { type: 'test/Add', inputs: { q: 7, a: link('v', 'nope'), b: link('absent') } },
  });
  const { issues } = checkGraph(doc, engine.registry);
  assert.equal(
    issues.filter((i) => i.code !== 'schema').map((i) => [i.code, i.pointer]),
    [
      ['unknown_input', '/nodes/add/inputs/zzz'],
      ['too_many_links', '/nodes/add/inputs/a'],
      ['dangling_link', '/nodes/add/inputs/a/1/node'],
      ['dangling_link', '/nodes/add/inputs/b/node'],
      ['unknown_input', '/nodes/bad/inputs/q'],
      ['unknown_output', '/nodes/bad/inputs/a/output'],
      ['dangling_link', '/nodes/bad/inputs/b/node'],
    ],
  );
});

test.run();
