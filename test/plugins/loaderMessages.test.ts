import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createEngine, discoverPlugins, loadPlugins } from 'tessera';

const fixtures = new URL('../fixtures/plugins/', import.meta.url).pathname;
const root = new URL('../../', import.meta.url).pathname;

async function problemsOf(name: string) {
  const engine = await createEngine({ plugins: [] });
  const [record] = await loadPlugins(engine, discoverPlugins({ cwd: fixtures, paths: [join(fixtures, name)], scanNodeModules: false }));
  return record!;
}

test('an entry naming a missing file says which file', async () => {
  const r = await problemsOf('bad-entry');
  assert.is(r.status, 'failed');
  assert.match(r.problems[0]!, /"tessera\.entry" names \.\/src\/plugin\.ts, which does not exist in .*bad-entry/);
});

test('a missing default export says so instead of "threw while importing"', async () => {
  const r = await problemsOf('no-default');
  assert.match(r.problems[0]!, /index\.ts has no default export: end it with `export default definePlugin/);
  assert.not.match(r.problems[0]!, /threw/);
});

test('a missing dependency names the package and the plugin file, not the engine', async () => {
  const r = await problemsOf('missing-dep');
  assert.match(r.problems[0]!, /depends on package "tessera-fixture-undeclared-package" \(imported from .*missing-dep\/index\.ts\), which is not installed for it/);
  assert.not.match(r.problems[0]!, /tessera\/package\.json|main\/package\.json/);
});

test('the same folder from tessera.config.json and --plugin loads once, with no "refused" record', async () => {
  const engine = await createEngine({ plugins: [] });
  const records = await loadPlugins(engine, discoverPlugins({ cwd: fixtures, paths: [join(fixtures, 'good'), join(fixtures, 'good')], scanNodeModules: false }));
  assert.equal(records.map((r) => [r.name, r.status]), [['tessera-plugin-good', 'loaded']]);
});

test('tessera plugins exits 1 when a plugin failed (not only when refused)', () => {
  const r = spawnSync(process.execPath, [join(root, 'bin/tessera.mjs'), 'plugins', '--plugin', join(fixtures, 'no-default')], { cwd: fixtures, encoding: 'utf8' });
  assert.is(r.status, 1);
  assert.match(r.stdout, /✗ tessera-plugin-no-default@0\.1\.0 .* failed\n\s+.*has no default export/);
});

test.run();
