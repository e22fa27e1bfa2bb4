// Issue 16: the second example plugin (examples/huber-loss: kernels + a service) installed from its
// `npm pack` tarball, next to the engine's tarball, into a project outside the repository, offline.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_REGISTRY, installOffline, npmPack, seedNodeModules } from './offlineInstall.ts';

const root = new URL('../../', import.meta.url).pathname;
const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'tessera-example-pkg-')));
const project = join(tmp, 'project');
const env = { ...process.env, NO_COLOR: '1', npm_config_offline: 'true', npm_config_registry: NO_REGISTRY, npm_config_update_notifier: 'false' };
const npx = (args: string[]) => spawnSync('npx', ['--offline', '--no-install', 'tessera', ...args], { cwd: project, env, encoding: 'utf8' });

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('the example plugin and the engine install from their tarballs into a project, offline, nothing from a registry', () => {
  assert.not.ok(tmp.startsWith(root), 'the temp folder is outside the repository');
  const engine = npmPack(root, tmp);
  const example = npmPack(join(root, 'examples/huber-loss'), tmp);
  assert.match(example, /tessera-plugin-huber-0\.1\.0\.tgz$/);
  const listing = spawnSync('tar', ['tzf', example], { encoding: 'utf8' }).stdout.split('\n');
  assert.ok(listing.includes('package/index.ts') && listing.includes('package/huber.ts'));
  assert.not.ok(listing.some((f) => f.includes('test/')), 'the tarball ships no tests');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'project', private: true, type: 'module', dependencies: { tessera: `file:${engine}`, 'tessera-plugin-huber': `file:${example}` } }, null, 2));
  seedNodeModules(project, []);
  installOffline(project);
  const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'));
  const fromRegistry = Object.entries(lock.packages as Record<string, { resolved?: string; link?: boolean }>).filter(([, p]) => !p.link && /^https?:/.test(p.resolved ?? ''));
  assert.equal(fromRegistry, [], 'every package is a tarball or a local link');
  assert.is(JSON.parse(readFileSync(join(project, 'node_modules/tessera-plugin-huber/package.json'), 'utf8')).version, '0.1.0');
});

test('the installed engine finds the installed plugin (keyword tessera-plugin) and runs a graph whose node resolves the plugin\'s service', () => {
  const listed = npx(['plugins', '--json']);
  const records = JSON.parse(listed.stdout) as { name: string; status: string; source: string; nodes: string[] }[];
  const huber = records.find((r) => r.name === 'tessera-plugin-huber');
  assert.equal(huber && [huber.status, huber.source, huber.nodes], ['loaded', 'npm', ['huber/Tensor', 'huber/HuberLoss']], listed.stdout + listed.stderr);
  writeFileSync(join(project, 'graph.json'), JSON.stringify({
    format: 'tessera-graph',
    version: 1,
    nodes: {
      p: { type: 'huber/Tensor', params: { shape: [2], values: [3, 0.5] } },
      t: { type: 'huber/Tensor', params: { shape: [2], values: [0, 0] } },
      l: { type: 'huber/HuberLoss', params: { delta: 1 }, inputs: { pred: { node: 'p', output: 'tensor' }, target: { node: 't', output: 'tensor' } } },
      out: { type: 'core/SaveJSON', params: { filename: 'loss.json' }, inputs: { value: { node: 'l', output: 'loss' } } },
    },
  }));
  const ran = npx(['run', 'graph.json', '--out', 'runs/one']);
  assert.is(ran.status, 0, ran.stdout + ran.stderr);
  const loss = JSON.parse(readFileSync(join(project, 'runs/one/loss.json'), 'utf8')) as number;
  assert.ok(Math.abs(loss - (2.5 + 0.125) / 2) < 1e-6, String(loss));
});

test.run();
