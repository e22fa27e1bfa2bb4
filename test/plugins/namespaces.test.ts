import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { createEngine, discoverPlugins, loadPlugins, NodeRegistry, namespaceOfPackage, pluginNamespaces } from 'tessera';
import { builtinPlugins } from 'tessera/plugins';

const fixtures = new URL('../fixtures/plugins/', import.meta.url).pathname;

async function load(names: string[]) {
  const engine = await createEngine({ plugins: builtinPlugins });
  const records = await loadPlugins(engine, discoverPlugins({ cwd: fixtures, paths: names.map((n) => join(fixtures, n)), scanNodeModules: false }));
  return { engine, byName: new Map(records.map((r) => [r.name, r])) };
}

test('a package name gives the namespace: scope and tessera-plugin- prefix dropped', () => {
  assert.is(namespaceOfPackage('@acme/tessera-plugin-blur'), 'blur');
  assert.is(namespaceOfPackage('focus-nodes'), 'focus-nodes');
  assert.equal(pluginNamespaces('tessera-plugin-x', ['y', 'x']), { namespaces: ['x', 'y'] });
  assert.ok('error' in pluginNamespaces('x', ['a/b']));
  assert.ok('error' in pluginNamespaces('x', 'x'));
});

test('a plugin claiming another plugin\'s namespace is refused at load, naming both; the owner keeps working whatever the order', async () => {
  for (const order of [['good', 'squatter'], ['squatter', 'good']]) {
    const { engine, byName } = await load(order);
    const good = byName.get('tessera-plugin-good')!;
    const squatter = byName.get('tessera-plugin-squatter')!;
    assert.is(good.status, 'loaded', order.join(' then '));
    assert.is(squatter.status, 'refused');
    assert.match(squatter.problems[0]!, /namespace "good" clash: plugin "tessera-plugin-squatter" claims it, but (plugin "tessera-plugin-good" already owns it|it belongs to plugin "tessera-plugin-good" \(its package name\))/);
    assert.not.ok(engine.registry.has('good/Fake'));
    assert.ok(engine.registry.has('good/Triple'));
  }
});

test('a node type outside the plugin\'s namespaces is refused, naming the owner; a built-in namespace is reserved', async () => {
  const { engine, byName } = await load(['good', 'duplicate', 'claims-core']);
  const dup = byName.get('tessera-plugin-dup')!;
  assert.equal(dup.nodes, ['dup/Own']);
  assert.match(dup.problems.join('\n'), /good\/Triple/);
  const core = byName.get('tessera-plugin-claims-core')!;
  assert.equal(core.nodes, ['claims-core/Own']);
  assert.match(core.problems[0]!, /node type core\/Add2 is in namespace "core", owned by plugin "core"; plugin "tessera-plugin-claims-core" may not register it/);
  assert.is(engine.registry.pluginOf('core/Add'), 'core');
});

test('reserved namespaces cannot be claimed even when the built-in is not loaded', () => {
  const registry = new NodeRegistry();
  assert.match(registry.claimNamespaces('evil', ['semalign'])!, /namespace "semalign" is reserved for tessera's built-in plugins; plugin "evil" may not claim it/);
  assert.is(registry.claimNamespaces('blur', ['blur']), undefined);
  const def = { type: 'other/X', title: 'X', category: 'x', description: '', version: '1.0.0', inputs: {}, outputs: {}, execute: () => ({}) };
  assert.not.ok(registry.register(def, 'blur'));
  assert.match(registry.problems[0]!.message, /outside plugin "blur"'s namespaces \(blur\)/);
});

test.run();
