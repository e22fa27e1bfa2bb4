import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeCache, cacheKey, canonicalJson, planRun, createEngine, isPortCompatible } from 'tessera';
import { builtinPlugins } from 'tessera/plugins';

test('NodeCache evicts least-recently-used entries by estimated bytes', () => {
  const cache = new NodeCache(3000);
  const blob = () => ({ data: new Float32Array(200) }); // ~900 bytes each
  cache.set('a', blob());
  cache.set('b', blob());
  cache.set('c', blob());
  assert.ok(cache.get('a', 0), 'a is touched, so b is now the oldest');
  cache.set('d', blob());
  assert.is(cache.get('b', 0), undefined);
  assert.ok(cache.get('a', 0) && cache.get('c', 0) && cache.get('d', 0));
  assert.ok(cache.bytes <= 3000);
  assert.is(cache.evictions, 1);
  cache.set('huge', { data: new Float32Array(10_000) });
  assert.is(cache.get('huge', 0), undefined, 'an entry over the whole budget is not stored');
  assert.is(cache.size, 3);
});

test('NodeCache: a seed-dependent entry only hits for its seed', () => {
  const cache = new NodeCache();
  cache.set('k', { v: 1 }, 7);
  assert.is(cache.get('k', 8), undefined);
  assert.equal(cache.get('k', 7)!.outputs, { v: 1 });
  cache.set('plain', { v: 2 });
  assert.ok(cache.get('plain', 123));
});

test('cacheKey: independent of key order, sensitive to every part', () => {
  const base = { type: 't/A', version: '1.0.0', params: { a: 1, b: { c: 2, d: 3 } }, inputs: { x: ['k1'], y: ['k2', 'k3'] } };
  const k = cacheKey(base);
  assert.is(cacheKey({ ...base, params: { b: { d: 3, c: 2 }, a: 1 } }), k);
  for (const changed of [
    { ...base, type: 't/B' },
    { ...base, version: '1.0.1' },
    { ...base, params: { a: 2, b: { c: 2, d: 3 } } },
    { ...base, inputs: { x: ['k1'], y: ['k3', 'k2'] } },
    { ...base, fingerprint: 'f' },
  ]) assert.is.not(cacheKey(changed), k);
  assert.is(canonicalJson({ b: [1, { z: 1, a: undefined }], a: null }), '{"a":null,"b":[1,{"z":1}]}');
});

test('port compatibility: exact, ANY, INT into NUMBER, unions', () => {
  assert.ok(isPortCompatible('IMAGE', 'IMAGE'));
  assert.ok(isPortCompatible('IMAGE', 'ANY'));
  assert.ok(isPortCompatible('ANY', 'MODEL'));
  assert.ok(isPortCompatible('INT', 'NUMBER'));
  assert.not.ok(isPortCompatible('NUMBER', 'INT'));
  assert.ok(isPortCompatible('TENSOR', 'IMAGE|TENSOR'));
  assert.not.ok(isPortCompatible('STRING', 'IMAGE|TENSOR'));
});

test('planRun: targets default to sinks, else leaves; order is topological with file order kept', async () => {
  const engine = await createEngine({ plugins: builtinPlugins });
  const g = {
    format: 'tessera-graph' as const,
    version: 1 as const,
    nodes: {
      b: { type: 'core/Number', params: { value: 2 } },
      a: { type: 'core/Number' },
      sum: { type: 'core/Add', inputs: { a: { node: 'a', output: 'value' }, b: { node: 'b', output: 'value' } } },
      lonely: { type: 'core/Number' },
      p: { type: 'core/Print', inputs: { value: { node: 'sum', output: 'sum' } } },
    },
  };
  const plan = planRun(g, engine.registry);
  assert.equal(plan.targets, ['p']);
  assert.equal(plan.order, ['b', 'a', 'sum', 'p']);
  assert.equal(plan.nodes.get('a')!.params, { value: 0 }, 'defaults applied');
  const noSinks = { ...g, nodes: { ...g.nodes, p: undefined } } as never;
  delete (noSinks as { nodes: Record<string, unknown> }).nodes.p;
  assert.equal(planRun(noSinks, engine.registry).targets, ['sum', 'lonely']);
  const streamy = { format: 'tessera-graph' as const, version: 1 as const, nodes: { s: { type: 'core/CountStream' }, m: { type: 'core/Math', inputs: { a: { node: 's', output: 'value' } } }, c: { type: 'core/Collect', inputs: { stream: { node: 'm', output: 'result' } } } } };
  const sp = planRun(streamy, engine.registry);
  assert.ok(sp.nodes.get('m')!.mapped);
  assert.not.ok(sp.nodes.get('c')!.mapped);
  assert.equal([...sp.streamPorts].sort(), ['m.result', 's.value']);
});

test('registry: params schemas may carry any x- editor hint; a broken schema is refused naming the plugin', async () => {
  const { NodeRegistry, defineNode } = await import('tessera');
  const registry = new NodeRegistry();
  const hinted = defineNode({
    type: 'h/Hinted', title: 'h', category: 'h', description: 'h', version: '1.0.0', inputs: {}, outputs: { v: { type: 'NUMBER' } },
    params: { type: 'object', properties: { n: { type: 'number', default: 1, 'x-slider': { log: true } } }, 'x-layout': 'compact' },
    execute: ({ params }) => ({ v: params.n }),
  });
  assert.ok(registry.register(hinted, 'hints'));
  assert.equal(registry.resolveParams('h/Hinted', {}), { ok: true, params: { n: 1 } });
  const broken = { ...hinted, type: 'h/Broken', params: { type: 'object', properties: { n: { type: 'nonsense' } } } };
  assert.not.ok(registry.register(broken as never, 'hints'));
  assert.match(registry.problems[0]!.message, /params schema does not compile/);
  assert.is(registry.problems[0]!.plugin, 'hints');
});

test.run();
