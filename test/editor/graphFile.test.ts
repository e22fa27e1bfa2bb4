import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildDocument, jsonEqual, withSeed, type NodeSnapshot } from '../../ui/src/graphFile.ts';
import type { GraphDocument } from '../../ui/src/types.ts';

// The editor's file writer is pure, so its round-trip rules are tested here without a browser.

const base: GraphDocument = {
  format: 'tessera-graph',
  version: 1,
  name: 'g',
  metadata: { owner: 'x' },
  nodes: {
    a: { type: 'core/Number', params: { value: 1 }, note: 'kept' },
    m: { type: 'core/MakeObject', inputs: { values: { node: 'a', output: 'value' } }, title: 'Obj' },
  },
  ui: { nodes: { a: { pos: [10, 20], custom: true } }, extra: 1 },
  custom: { keep: true },
};

function snap(id: string, over: Partial<NodeSnapshot> = {}): NodeSnapshot {
  const node = base.nodes[id];
  return {
    id,
    type: node?.type ?? 'core/Number',
    title: node?.title ?? 'Number',
    defaultTitle: id === 'm' ? 'Make object' : 'Number',
    params: structuredClone(node?.params ?? {}),
    inputs: id === 'm' ? { values: [{ node: 'a', output: 'value' }] } : {},
    listInputs: new Set(id === 'm' ? ['values'] : []),
    disabled: false,
    pos: id === 'a' ? [10, 20] : [300, 40],
    size: [200, 80],
    sized: false,
    moved: false,
    collapsed: false,
    ...(node ? { origin: { node, ...(base.ui?.nodes?.[id] ? { ui: base.ui.nodes[id] } : {}) } } : {}),
    ...over,
  };
}

const view = { offset: [0, 0] as [number, number], scale: 1, changed: false };

test('unchanged graph: the same JSON value, key order included', () => {
  const doc = buildDocument(base, [snap('m'), snap('a')], view);
  assert.is(JSON.stringify(doc), JSON.stringify(base));
});

test('only what changed is written', () => {
  const doc = buildDocument(base, [snap('a', { params: { value: 2 }, moved: true, pos: [15.4, 20] }), snap('m', { inputs: { values: [{ node: 'a', output: 'value' }, { node: 'a', output: 'value' }] } })], view);
  assert.equal(doc.nodes.a!.params, { value: 2 });
  assert.equal(doc.ui!.nodes!.a, { pos: [15, 20], custom: true });
  assert.equal(doc.nodes.m!.inputs, { values: [{ node: 'a', output: 'value' }, { node: 'a', output: 'value' }] });
  assert.is(doc.ui!.nodes!.m, undefined, 'm had no layout and did not move');
  assert.is(doc.ui!.viewport, undefined);
});

test('new nodes: appended, with a position; defaults stay out; viewport once the view changed', () => {
  const fresh = snap('n', { type: 'core/Math', title: 'Math', defaultTitle: 'Math', pos: [400, 50], size: [210, 90], sized: true });
  const doc = buildDocument(base, [fresh, snap('a'), snap('m')], { offset: [12.3, -4], scale: 0.75, changed: true });
  assert.equal(Object.keys(doc.nodes), ['a', 'm', 'n']);
  assert.equal(doc.nodes.n, { type: 'core/Math' });
  assert.equal(doc.ui!.nodes!.n, { pos: [400, 50], size: [210, 90] });
  assert.equal(doc.ui!.viewport, { offset: [12, -4], scale: 0.75 });
});

test('a new graph from scratch: disabled, titles and collapsed are written when set', () => {
  const doc = buildDocument(undefined, [{ ...snap('x'), origin: undefined, title: 'Mine', disabled: true, collapsed: true }], view);
  assert.equal(doc, { format: 'tessera-graph', version: 1, nodes: { x: { type: 'core/Number', title: 'Mine', disabled: true } }, ui: { nodes: { x: { pos: [300, 40], collapsed: true } } } });
});

test('jsonEqual ignores key order only', () => {
  assert.ok(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }));
  assert.not.ok(jsonEqual({ a: [1, 2] }, { a: [2, 1] }));
  assert.not.ok(jsonEqual({ a: 1 }, { a: 1, b: undefined }));
});

test('withSeed: replaces the seed in place, adds it before nodes, removes it; the same document when unchanged', () => {
  const doc = { format: 'tessera-graph', version: 1, name: 'x', seed: 3, nodes: {} } as GraphDocument;
  assert.equal(Object.entries(withSeed(doc, 9)), [['format', 'tessera-graph'], ['version', 1], ['name', 'x'], ['seed', 9], ['nodes', {}]]);
  assert.equal(Object.keys(withSeed(doc, undefined)), ['format', 'version', 'name', 'nodes']);
  assert.is(withSeed(doc, 3), doc);
  const none = { format: 'tessera-graph', version: 1, nodes: {}, ui: {} } as GraphDocument;
  assert.equal(Object.keys(withSeed(none, 0)), ['format', 'version', 'seed', 'nodes', 'ui']);
  assert.is(withSeed(none, undefined), none);
});

test.run();
