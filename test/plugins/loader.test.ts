import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { engineSpec } from '../../core/loader/scaffoldPlugin.ts';
import { createEngine, collectRun, discoverPlugins, loadPlugins, checkManifest, ENGINE_API_VERSION } from 'tessera';
import { builtinPlugins } from 'tessera/plugins';

const fixtures = new URL('../fixtures/plugins/', import.meta.url).pathname;
const root = new URL('../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'tessera-plugins-'));

async function engineWith(paths: string[], cwd = tmp) {
  const engine = await createEngine({ plugins: builtinPlugins });
  const records = await loadPlugins(engine, discoverPlugins({ cwd, paths: paths.map((p) => join(fixtures, p)) }));
  return { engine, records };
}

test('loads a plugin folder; its node runs in a graph with built-in nodes', async () => {
  const { engine, records } = await engineWith(['good']);
  assert.equal(records.map((r) => [r.name, r.status, r.source, r.nodes]), [['tessera-plugin-good', 'loaded', 'flag', ['good/Triple']]]);
  const run = await collectRun(engine.run({ format: 'tessera-graph', version: 1, nodes: { n: { type: 'core/Number', params: { value: 5 } }, t: { type: 'good/Triple', inputs: { x: { node: 'n', output: 'value' } } } } }));
  assert.equal(run.results.t, { y: 15 });
});

test('an incompatible engine range is refused, naming the plugin, its range and the engine version; it is never imported', async () => {
  const { records, engine } = await engineWith(['incompatible', 'good']);
  const r = records[0]!;
  assert.is(r.status, 'refused');
  assert.match(r.problems[0]!, /tessera-plugin-future@3\.0\.0 supports engine API \^2\.0\.0, but this engine's API is 0\.1\.0/);
  assert.ok(engine.registry.has('good/Triple'), 'the others still load');
});

test('a duplicate node type is an error naming both plugins; the plugin\'s other nodes load', async () => {
  const { records, engine } = await engineWith(['good', 'duplicate']);
  const dup = records.find((r) => r.name === 'tessera-plugin-dup')!;
  assert.equal(dup.nodes, ['dup/Own']);
  assert.match(dup.problems[0]!, /duplicate node type good\/Triple: plugin "tessera-plugin-dup" defines it, but plugin "tessera-plugin-good" already registered it/);
  assert.is(engine.registry.pluginOf('good/Triple'), 'tessera-plugin-good');
});

test('plugins that throw (on import, or in their ContainerModule) are isolated and explained', async () => {
  const { records, engine } = await engineWith(['throwing', 'throwing-module', 'good', 'bad-manifest', 'missing-folder']);
  const by = Object.fromEntries(records.map((r) => [r.name.split('/').pop(), r]));
  assert.is(by['tessera-plugin-throws']!.status, 'failed');
  assert.match(by['tessera-plugin-throws']!.problems[0]!, /plugin exploded on import/);
  assert.is(by['tessera-plugin-throws-in-module']!.status, 'failed');
  assert.match(by['tessera-plugin-throws-in-module']!.problems[0]!, /binding failed/);
  assert.is(by['tessera-plugin-bad-manifest']!.status, 'refused');
  assert.match(by['tessera-plugin-bad-manifest']!.problems[0]!, /unknown key "engines"/);
  assert.is(by['missing-folder']!.status, 'failed');
  assert.match(by['missing-folder']!.problems[0]!, /plugin folder not found/);
  assert.ok(engine.registry.has('good/Triple'));
});

test('checkManifest: range checks are pure and use the engine API version', () => {
  assert.ok('manifest' in checkManifest({ name: 'a', tessera: { engine: `^${ENGINE_API_VERSION}` } }));
  assert.ok('refused' in checkManifest({ name: 'a', tessera: { engine: 'not a range' } }));
  assert.ok('refused' in checkManifest({ name: 'a' }));
  assert.ok('manifest' in checkManifest({ name: 'a', tessera: { engine: '^1.0.0' } }, '1.4.2'));
});

test('tessera.config.json lists plugin folders', async () => {
  const dir = mkdtempSync(join(tmp, 'cfg-'));
  writeFileSync(join(dir, 'tessera.config.json'), JSON.stringify({ plugins: [join(fixtures, 'good')] }));
  const { records } = await engineWith([], dir);
  assert.equal(records.map((r) => [r.name, r.source, r.status]), [['tessera-plugin-good', 'config', 'loaded']]);
});

test('loads a packed npm package installed offline into a project', async () => {
  const pkgDir = join(tmp, 'pack-src');
  cpSync(join(fixtures, 'good'), pkgDir, { recursive: true });
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp], { cwd: pkgDir, encoding: 'utf8' }).trim().split('\n').pop()!;
  const project = join(tmp, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'research-project', version: '1.0.0', private: true }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(tmp, packed)], { cwd: project, stdio: 'pipe' });
  assert.ok(readdirSync(join(project, 'node_modules')).includes('tessera-plugin-good'));
  const engine = await createEngine({ plugins: builtinPlugins });
  const records = await loadPlugins(engine, discoverPlugins({ cwd: project }));
  assert.equal(records.map((r) => [r.name, r.source, r.status, r.nodes]), [['tessera-plugin-good', 'npm', 'loaded', ['good/Triple']]]);
});

test('CLI: tessera plugins lists loaded and refused plugins with reasons; exit 1 when any is refused', () => {
  const r = spawnSync(process.execPath, [join(root, 'bin/tessera.mjs'), 'plugins', '--plugin', join(fixtures, 'good'), '--plugin', join(fixtures, 'incompatible')], { cwd: tmp, encoding: 'utf8' });
  assert.is(r.status, 1);
  assert.match(r.stdout, /✓ core@1\.0\.0\s+\[builtin\]/);
  assert.match(r.stdout, /✓ tessera-plugin-good@1\.2\.0\s+\[flag .*good\]\s+loaded: good\/Triple/);
  assert.match(r.stdout, /✗ tessera-plugin-future@3\.0\.0 .* refused\n\s+.*supports engine API \^2\.0\.0/);
  const json = spawnSync(process.execPath, [join(root, 'bin/tessera.mjs'), 'plugins', '--json', '--plugin', join(fixtures, 'good')], { cwd: tmp, encoding: 'utf8' });
  assert.is(json.status, 0);
  assert.equal(JSON.parse(json.stdout).map((p: { name: string }) => p.name), [...builtinPlugins.map((p) => p.name), 'tessera-plugin-good']);
});

test('scaffold: tessera plugin new writes a type-checkable package; nodes --plugin lists it before any install', () => {
  // The install, type-check, tests and a run with the packed engine: test/plugins/enginePackage.test.ts.
  const cli = join(root, 'bin/tessera.mjs');
  const made = spawnSync(process.execPath, [cli, 'plugin', 'new', 'acme-blur', '--dir', join(tmp, 'acme')], { encoding: 'utf8' });
  assert.is(made.status, 0, made.stderr);
  const pkg = JSON.parse(readFileSync(join(tmp, 'acme', 'package.json'), 'utf8'));
  assert.equal(pkg.keywords, ['tessera-plugin']);
  // The spec points at this engine, relative or absolute depending on how far apart they are
  // (engineSpec's rule; the clone's location decides which).
  const spec = pkg.devDependencies.tessera as string;
  assert.ok(spec.startsWith('file:'), spec);
  assert.is(resolve(join(tmp, 'acme'), spec.slice('file:'.length)), root.replace(/\/$/, ''));
  assert.ok(readdirSync(join(tmp, 'acme')).includes('tsconfig.json'));
  const listed = spawnSync(process.execPath, [cli, 'nodes', '--plugin', join(tmp, 'acme')], { encoding: 'utf8' });
  assert.match(listed.stdout, /acme-blur\/Scale/);
  const again = spawnSync(process.execPath, [cli, 'plugin', 'new', 'acme-blur', '--dir', join(tmp, 'acme')], { encoding: 'utf8' });
  assert.is(again.status, 2);
  assert.match(again.stderr, /not empty/);
});

test('boundary: code under plugins/ and examples/ imports the engine only through its barrel', () => {
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'dist') walk(p);
      } else if (/\.(ts|mts|js|mjs)$/.test(e.name)) {
        for (const m of readFileSync(p, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]((?:\.\.\/)+(?:core|kernels)(?:\/[^'"]*)?)['"]/g)) offenders.push(`${p.slice(root.length)} → ${m[1]}`);
      }
    }
  };
  for (const d of ['plugins', 'examples']) walk(join(root, d));
  assert.equal(offenders, []);
});

test('engineSpec: a relative file: spec when the engine is near the plugin, absolute when far', () => {
  assert.is(engineSpec('/work/tessera', '/work/plugins/acme'), 'file:../../tessera');
  assert.is(engineSpec('/opt/x/y/tessera', '/home/me/dev/plugins/acme'), 'file:/opt/x/y/tessera');
});

test.run();
