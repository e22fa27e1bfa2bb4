// Item 5 of issue 16: params-schema mistakes are reported at load, naming node type and plugin,
// and optional params without a default are typed as possibly undefined.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectRun, createEngine, createLogger, defineNode, definePlugin, discoverPlugins, loadPlugins } from 'tessera';

const fixtures = new URL('../fixtures/plugins/', import.meta.url).pathname;
const root = new URL('../../', import.meta.url).pathname;

test('a params schema that does not compile names the node type and the plugin; the plugin\'s other nodes load', async () => {
  const engine = await createEngine({ plugins: [] });
  const [record] = await loadPlugins(engine, discoverPlugins({ cwd: fixtures, paths: [join(fixtures, 'bad-params')], scanNodeModules: false }));
  assert.is(record!.status, 'loaded');
  assert.equal(record!.nodes, ['bad-params/Fine']);
  assert.match(record!.problems[0]!, /^node type bad-params\/Uncompilable \(plugin "tessera-plugin-bad-params"\) was not registered: its params schema does not compile: .*type/);
});

test('a default that breaks its own schema is caught at load, naming node, param, default and the schema error', async () => {
  const engine = await createEngine({ plugins: [] });
  const [record] = await loadPlugins(engine, discoverPlugins({ cwd: fixtures, paths: [join(fixtures, 'bad-params')], scanNodeModules: false }));
  assert.is(
    record!.problems[1],
    'node type bad-params/BadDefault (plugin "tessera-plugin-bad-params") was not registered: the default of param "n" (5) does not fit its own schema: /n must be <= 3',
  );
  assert.not.ok(engine.registry.has('bad-params/BadDefault'), 'a graph using it reads "unknown node type", not a params error of its own');
});

test('a required param without a default is the graph\'s to give, not a broken default', async () => {
  const engine = await createEngine({ plugins: [] });
  const n = defineNode({
    type: 'req/N', title: 'N', category: 'req', description: 'required param', version: '1.0.0', inputs: {}, outputs: { y: { type: 'NUMBER' } },
    params: { type: 'object', properties: { k: { type: 'number' }, d: { type: 'number', default: 1 } }, required: ['k'], additionalProperties: false },
    execute: ({ params }) => ({ y: params.k + params.d }),
  });
  const record = await engine.loadPlugin(definePlugin({ name: 'req', version: '1.0.0', nodes: [n] }));
  assert.equal(record.problems, []);
  assert.equal(record.nodes, ['req/N']);
});

test('tessera plugins exits 1 and names each refused node type', () => {
  const r = spawnSync(process.execPath, [join(root, 'bin/tessera.mjs'), 'plugins', '--plugin', join(fixtures, 'bad-params')], { cwd: fixtures, encoding: 'utf8' });
  assert.is(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /✓ tessera-plugin-bad-params@0\.1\.0 .* loaded: bad-params\/Fine\n/);
  assert.match(r.stdout, /\n\s+node type bad-params\/Uncompilable \(plugin "tessera-plugin-bad-params"\) was not registered/);
  assert.match(r.stdout, /\n\s+node type bad-params\/BadDefault .*the default of param "n" \(5\)/);
});

test('ParamsOf: an optional param without a default is typed possibly undefined, and arrives undefined', async () => {
  const seen: unknown[] = [];
  const n = defineNode({
    type: 'opt/N', title: 'N', category: 'opt', description: 'optional param', version: '1.0.0', inputs: {}, outputs: { y: { type: 'NUMBER' } },
    params: { type: 'object', properties: { scale: { type: 'number' }, offset: { type: 'number', default: 1 }, base: { type: 'number' } }, required: ['base'], additionalProperties: false },
    execute: ({ params }) => {
      // @ts-expect-error -- `scale` has no default and is not required: number | undefined
      const scale: number = params.scale;
      const offset: number = params.offset; // has a default: always present
      const base: number = params.base; // required: always present
      seen.push(scale);
      return { y: (params.scale ?? 2) * base + offset };
    },
  });
  const engine = await createEngine({ plugins: [definePlugin({ name: 'opt', version: '1.0.0', nodes: [n] })], logger: createLogger(() => {}, 'error') });
  const out = mkdtempSync(join(tmpdir(), 'tessera-params-'));
  const r = await collectRun(engine.run({ format: 'tessera-graph', version: 1, nodes: { n: { type: 'opt/N', params: { base: 5 } } } }, { outDir: out, targets: ['n'] }));
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  assert.equal(seen, [undefined]);
});

test.run();
