import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { buildDocument, withProvider, withSeed, type NodeSnapshot } from '../../ui/src/graphFile.ts';
import { PROVIDER_CHOICES, isProviderChoice, providerLabel } from '../../ui/src/providers.ts';
import type { GraphDocument } from '../../ui/src/types.ts';

// Issue 20: the graph's and a node's `provider` in the editor's file writer (pure, no browser).
// Set only when chosen, removed when cleared, and a file with or without them written back as read.

const schema = JSON.parse(readFileSync(new URL('../../schemas/graph.schema.json', import.meta.url), 'utf8'));

const base: GraphDocument = {
  format: 'tessera-graph',
  version: 1,
  name: 'g',
  seed: 7,
  provider: 'webgpu',
  nodes: {
    a: { type: 'core/Number', provider: 'cpu', params: { value: 1 } },
    b: { type: 'core/Number', params: { value: 2 }, note: 'kept' },
  },
  ui: { nodes: { a: { pos: [10, 20] }, b: { pos: [300, 20] } } },
};

function snap(id: string, over: Partial<NodeSnapshot> = {}): NodeSnapshot {
  const node = base.nodes[id]!;
  return {
    id,
    type: node.type,
    title: 'Number',
    defaultTitle: 'Number',
    params: structuredClone(node.params ?? {}),
    inputs: {},
    listInputs: new Set(),
    disabled: false,
    ...(node.provider !== undefined ? { provider: node.provider } : {}),
    pos: base.ui!.nodes![id]!.pos!,
    size: [200, 80],
    sized: false,
    moved: false,
    collapsed: false,
    origin: { node, ui: base.ui!.nodes![id]! },
    ...over,
  };
}

const view = { offset: [0, 0] as [number, number], scale: 1, changed: false };
const write = (nodes: NodeSnapshot[], ...provider: [unknown?]) => withProvider(withSeed(buildDocument(base, nodes, view), base.seed), provider.length ? provider[0] : base.provider);

test("the editor offers the schema's providers", () => {
  assert.equal([...PROVIDER_CHOICES], schema.$defs.provider.enum);
  assert.equal(schema.properties.provider, { $ref: '#/$defs/provider' }, 'top level');
  assert.ok(PROVIDER_CHOICES.every(isProviderChoice));
  assert.not.ok(isProviderChoice('cuda'));
  assert.not.ok(isProviderChoice(undefined));
});

test('a file with both fields is written back as read, key order included', () => {
  assert.is(JSON.stringify(write([snap('b'), snap('a')])), JSON.stringify(base));
});

test("a node's pin: set on a node without one (after its keys), changed in place, cleared", () => {
  const pinned = write([snap('a'), snap('b', { provider: 'auto' })]);
  assert.equal(Object.entries(pinned.nodes.b!), [['type', 'core/Number'], ['params', { value: 2 }], ['note', 'kept'], ['provider', 'auto']]);
  const changed = write([snap('a', { provider: 'webgpu' }), snap('b')]);
  assert.equal(Object.keys(changed.nodes.a!), ['type', 'provider', 'params'], 'in its place');
  assert.is(changed.nodes.a!.provider, 'webgpu');
  const cleared = write([snap('a', { provider: undefined }), snap('b')]);
  assert.equal(cleared.nodes.a, { type: 'core/Number', params: { value: 1 } });
  // A new node gets the field only when pinned.
  const fresh = buildDocument(undefined, [{ ...snap('b', { provider: 'cpu' }), origin: undefined }, { ...snap('a', { provider: undefined }), origin: undefined, id: 'c' }], view);
  assert.equal(fresh.nodes.b, { type: 'core/Number', params: { value: 2 }, provider: 'cpu' });
  assert.equal(fresh.nodes.c, { type: 'core/Number', params: { value: 1 } });
});

test("the graph's provider: replaced in place, added after the seed (before nodes), removed; untouched documents are the same object", () => {
  const auto = write([snap('a'), snap('b')], 'auto');
  assert.equal(Object.keys(auto), ['format', 'version', 'name', 'seed', 'provider', 'nodes', 'ui']);
  assert.is(auto.provider, 'auto');
  const none = write([snap('a'), snap('b')], undefined);
  assert.equal(Object.keys(none), ['format', 'version', 'name', 'seed', 'nodes', 'ui']);
  const plain = { format: 'tessera-graph', version: 1, nodes: {} } as GraphDocument;
  assert.is(withProvider(plain, undefined), plain, 'a file without it stays without it');
  assert.equal(Object.keys(withProvider(plain, 'cpu')), ['format', 'version', 'provider', 'nodes']);
  assert.is(withProvider(base, 'webgpu'), base);
});

test('a value the editor does not know is kept as it was, and labelled as not valid', () => {
  const odd = { ...base, provider: 'cuda', nodes: { a: { type: 'core/Number', provider: 3 } } } as unknown as GraphDocument;
  const doc = withProvider(buildDocument(odd, [{ ...snap('a'), provider: 3, origin: { node: odd.nodes.a! } }], view), odd.provider);
  assert.is(doc.provider, 'cuda');
  assert.is(doc.nodes.a!.provider, 3 as never);
  assert.is(providerLabel('cuda'), 'cuda (not valid)');
  assert.is(providerLabel(3), '3 (not valid)');
  assert.is(providerLabel('webgpu'), 'webgpu');
});

test.run();
