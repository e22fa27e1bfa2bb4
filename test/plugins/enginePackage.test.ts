import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_REGISTRY, installOffline, npmPack, seedNodeModules } from './offlineInstall.ts';

// The whole author workflow outside the repository: pack the engine, scaffold a plugin, install
// the engine from the tarball, type-check, test and run a graph, with no registry reachable.
const root = new URL('../../', import.meta.url).pathname;
const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'tessera-engine-pkg-')));
const plugin = join(tmp, 'acme-blur');
const env = { ...process.env, NO_COLOR: '1', npm_config_offline: 'true', npm_config_registry: NO_REGISTRY, npm_config_update_notifier: 'false' };
const sh = (cmd: string, args: string[], cwd = plugin) => spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
let tarball = '';

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('the engine packs as tessera-engine (a name free on the registry) with the tessera bin and every public module', () => {
  assert.not.ok(tmp.startsWith(root), 'the temp folder is outside the repository');
  tarball = npmPack(root, tmp);
  assert.match(tarball, /tessera-engine-\d+\.\d+\.\d+\.tgz$/);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  assert.is(pkg.name, 'tessera-engine');
  assert.equal(pkg.bin, { tessera: 'bin/tessera.mjs' });
  const listing = sh('tar', ['tzf', tarball], tmp).stdout.split('\n');
  for (const target of Object.values(pkg.exports as Record<string, string>)) assert.ok(listing.includes('package/' + target.slice(2)), `${target} is in the tarball`);
  assert.not.ok(listing.some((f) => f.endsWith('.test.ts')), 'no tests in the tarball');
});

test('tessera plugin new --engine <tarball> scaffolds a plugin whose devDependency "tessera" is that tarball', () => {
  const made = sh(process.execPath, [join(root, 'bin/tessera.mjs'), 'plugin', 'new', 'acme-blur', '--dir', plugin, '--engine', tarball], tmp);
  assert.is(made.status, 0, made.stderr);
  const pkg = JSON.parse(readFileSync(join(plugin, 'package.json'), 'utf8'));
  assert.is(pkg.devDependencies.tessera, 'file:../' + tarball.slice(tmp.length + 1));
  assert.is(pkg.peerDependencies.tessera, 'npm:tessera-engine@^0.1.0');
  assert.is(pkg.scripts.test, 'tessera plugin test .');
  assert.ok(JSON.parse(readFileSync(join(plugin, 'tsconfig.json'), 'utf8')).compilerOptions.strict);
  assert.not.ok('paths' in JSON.parse(readFileSync(join(plugin, 'tsconfig.json'), 'utf8')).compilerOptions, 'no paths: tsx would apply them');
});

test('npm install puts the engine at node_modules/tessera from the tarball, offline; nothing comes from a registry', () => {
  seedNodeModules(plugin, ['typescript', 'uvu']);
  installOffline(plugin);
  const installed = JSON.parse(readFileSync(join(plugin, 'node_modules/tessera/package.json'), 'utf8'));
  assert.is(installed.name, 'tessera-engine');
  const lock = JSON.parse(readFileSync(join(plugin, 'package-lock.json'), 'utf8'));
  assert.is(lock.packages['node_modules/tessera'].resolved, 'file:../' + tarball.slice(tmp.length + 1));
  const fromRegistry = Object.entries(lock.packages as Record<string, { resolved?: string; link?: boolean }>).filter(([, p]) => !p.link && /^https?:/.test(p.resolved ?? ''));
  assert.equal(fromRegistry, [], 'every package is the tarball or a local link');
  const bin = sh('npx', ['--offline', '--no-install', 'tessera', '--version']);
  assert.is(bin.status, 0, bin.stderr);
  assert.is(bin.stdout.trim(), installed.version, 'npx tessera runs the installed engine');
  assert.is(realpathSync(join(plugin, 'node_modules/.bin/tessera')), join(plugin, 'node_modules/tessera/bin/tessera.mjs'));
});

test('npm test type-checks and runs the plugin tests with the installed engine', () => {
  const tested = sh('npm', ['test']);
  assert.is(tested.status, 0, tested.stdout + tested.stderr);
  assert.match(tested.stdout, /type-checking/);
  assert.match(tested.stdout, /2 passed, 0 failed, 0 skipped/);
});

test('a type error fails tessera plugin test before any test runs', () => {
  const file = join(plugin, 'nodes/Broken.ts');
  writeFileSync(file, "import { defineNode } from 'tessera';\nexport const n: number = defineNode;\n");
  const tested = sh('npx', ['--offline', '--no-install', 'tessera', 'plugin', 'test', '.']);
  rmSync(file);
  assert.is(tested.status, 1);
  assert.match(tested.stdout + tested.stderr, /Broken\.ts.*TS2322/);
  assert.match(tested.stderr, /type errors: the tests were not run/);
  assert.not.match(tested.stdout, /passed/);
});

test('zero tests ran is a failure', () => {
  const tested = sh('npx', ['--offline', '--no-install', 'tessera', 'plugin', 'test', '--no-typecheck', '.'], plugin);
  assert.is(tested.status, 0, 'sanity: the plugin has tests');
  rmSync(join(plugin, 'test'), { recursive: true });
  const none = sh('npx', ['--offline', '--no-install', 'tessera', 'plugin', 'test', '--no-typecheck', '.']);
  assert.is(none.status, 1, none.stdout + none.stderr);
  assert.match(none.stderr, /no tests ran/);
});

test('npx tessera runs a graph with the plugin, all from the installed engine', () => {
  writeFileSync(join(plugin, 'graph.json'), JSON.stringify({
    format: 'tessera-graph',
    version: 1,
    nodes: {
      n: { type: 'core/Number', params: { value: 21 } },
      s: { type: 'acme-blur/Scale', params: { factor: 3 }, inputs: { value: { node: 'n', output: 'value' } } },
      out: { type: 'core/SaveJSON', params: { filename: 'scaled.json' }, inputs: { value: { node: 's', output: 'scaled' } } },
    },
  }));
  const ran = sh('npx', ['--offline', '--no-install', 'tessera', 'run', 'graph.json', '--plugin', '.', '--out', 'runs/one']);
  assert.is(ran.status, 0, ran.stdout + ran.stderr);
  assert.is(JSON.parse(readFileSync(join(plugin, 'runs/one/scaled.json'), 'utf8')), 63);
  const listed = sh('npx', ['--offline', '--no-install', 'tessera', 'plugins', '--json', '--plugin', '.']);
  const records = JSON.parse(listed.stdout) as { name: string; status: string }[];
  assert.equal(records.find((r) => r.name === 'acme-blur')?.status, 'loaded');
});

test.run();
