import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectRun, createEngine, defineNode, definePlugin, Workspace, WorkspacePathError, type GraphDocument } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { main } from '../../app/main.ts';

// A workspace with a sibling folder outside it, holding files a graph must never reach.
const base = mkdtempSync(join(tmpdir(), 'tessera-ws-'));
const root = join(base, 'ws');
const outside = join(base, 'outside');
mkdirSync(join(root, 'graphs'), { recursive: true });
mkdirSync(outside);
writeFileSync(join(outside, 'history.json'), '[1,2,3]');
writeFileSync(join(outside, 'secret.safetensors'), 'not a checkpoint');
symlinkSync(outside, join(root, 'linkdir'));
symlinkSync(join(base, 'nowhere'), join(root, 'dangling'));
const ws = new Workspace(root);

const engine = await createEngine({ plugins: builtinPlugins, workspace: ws });
const trainGraph = JSON.parse(readFileSync(new URL('../../graphs/mosaic-train.json', import.meta.url), 'utf8')) as GraphDocument;
const trainId = Object.entries(trainGraph.nodes).find(([, n]) => n.type === 'train/Train')![0];
const modelId = Object.entries(trainGraph.nodes).find(([, n]) => n.type === 'mosaic/Model')![0];

/** mosaic-train.json with one param of one node replaced. */
function withParam(id: string, name: string, value: unknown): GraphDocument {
  const g = structuredClone(trainGraph) as { nodes: Record<string, { params?: Record<string, unknown> }> };
  g.nodes[id]!.params = { ...g.nodes[id]!.params, [name]: value };
  return g as unknown as GraphDocument;
}

test('check: relative and absolute paths inside pass; climbing out, absolute outside and NUL are refused', () => {
  assert.is(ws.check('runs/a/checkpoints', 'write'), undefined);
  assert.is(ws.check(join(root, 'x.json'), 'read'), undefined);
  assert.is(ws.check('.', 'read'), undefined);
  assert.match(ws.check('../../../x', 'write')!, /outside the workspace/);
  assert.match(ws.check('/etc/shadow', 'read')!, /outside the workspace/);
  assert.match(ws.check(join(root, '..', 'ws-sibling'), 'read')!, /outside the workspace/);
  assert.match(ws.check('a\0b', 'read')!, /NUL/);
  assert.match(ws.check(5, 'read')!, /string/);
  assert.is(new Workspace(root, { allowOutside: true }).check('/etc/shadow', 'read'), undefined);
});

test('read roots take reads only; writable roots take both', () => {
  const w = new Workspace(root, { readRoots: [outside] });
  assert.is(w.check(join(outside, 'secret.safetensors'), 'read'), undefined);
  assert.match(w.check(join(outside, 'secret.safetensors'), 'write')!, /writes must stay inside/);
  assert.is(w.with({ writable: [outside] }).check(join(outside, 'new.json'), 'write'), undefined);
});

test('resolve follows symlinks: a link out of the workspace and a dangling link are refused, a missing tail is fine', async () => {
  assert.is(await ws.resolve('graphs/new/x.json', 'write'), join(root, 'graphs', 'new', 'x.json'));
  for (const access of ['read', 'write'] as const) {
    const e = await ws.resolve('linkdir/history.json', access).catch((x: unknown) => x);
    assert.instance(e, WorkspacePathError);
    assert.match((e as Error).message, /symbolic link/);
  }
  const e = await ws.resolve('dangling/x.json', 'write').catch((x: unknown) => x);
  assert.instance(e, WorkspacePathError);
  assert.ok(!existsSync(join(base, 'nowhere')), 'nothing created through the dangling link');
  // The same words for a link to an existing folder outside and to a missing one.
  const existing = await ws.resolve('linkdir/x.json', 'write').catch((x: Error) => x.message.replace('linkdir', 'L'));
  assert.is((e as Error).message.replace('dangling', 'L'), existing);
});

test('resolve: a dangling link to a place inside is followed; a link loop is a refusal, not a raw ELOOP', async () => {
  symlinkSync(join(root, 'made-later'), join(root, 'inner-link'));
  assert.is(await ws.resolve('inner-link/a.json', 'write'), join(root, 'made-later', 'a.json'));
  symlinkSync(join(root, 'loop-b'), join(root, 'loop-a'));
  symlinkSync(join(root, 'loop-a'), join(root, 'loop-b'));
  const e = await ws.resolve('loop-a/x.json', 'write').catch((x: unknown) => x);
  assert.instance(e, WorkspacePathError);
  assert.match((e as Error).message, /cannot be resolved \(ELOOP\)/);
});

test('validation refuses path params outside the workspace, with the param pointer', () => {
  for (const dir of ['/some/abs/dir', '../../../x', join(outside)]) {
    const issues = engine.validate(withParam(trainId, 'checkpointDir', dir));
    assert.equal(issues.map((i) => [i.code, i.pointer, i.nodeId]), [['path_outside_workspace', `/nodes/${trainId}/params/checkpointDir`, trainId]], dir);
  }
  assert.equal(engine.validate(withParam(trainId, 'checkpointDir', 'runs/ckpt')), []);
});

test('the answer never tells whether a file outside exists', () => {
  const message = (path: string) => engine.validate(withParam(modelId, 'checkpoint', path))[0]!.message.replace(path, '<p>');
  const existing = message(join(outside, 'secret.safetensors'));
  assert.match(existing, /outside the workspace/);
  assert.is(message(join(outside, 'no-such-file.safetensors')), existing);
  assert.is(message('/etc/shadow'), existing);
});

test('a refused graph runs nothing: resume:false cannot delete history.json outside', async () => {
  const g = withParam(trainId, 'checkpointDir', outside);
  (g.nodes[trainId]!.params as Record<string, unknown>).resume = false;
  const run = await collectRun(engine.run(g, { outDir: join(root, 'runs', 'refused') }));
  assert.is(run.status, 'failed');
  assert.ok(readFileSync(join(outside, 'history.json'), 'utf8') === '[1,2,3]');
});

test('a path that validates but escapes through a symlink fails the node when used, naming the param value', async () => {
  const graph = {
    format: 'tessera-graph',
    version: 1,
    nodes: {
      load: { type: 'semalign/LoadAll', params: { dir: 'linkdir' } },
      show: { type: 'core/Print', inputs: { value: { node: 'load', output: 'manifest' } } },
    },
  };
  assert.equal(engine.validate(graph), []);
  const run = await collectRun(engine.run(graph, { outDir: join(root, 'runs', 'link') }));
  assert.is(run.status, 'failed');
  assert.match(run.errors[0]!.message, /"linkdir" resolves outside the workspace through a symbolic link/);
});

test('CLI: validate and run refuse outside paths (exit 2) unless --allow-outside-workspace', async () => {
  const file = join(base, 'outside-ckpt.json');
  writeFileSync(file, JSON.stringify(withParam(trainId, 'checkpointDir', join(outside, 'ckpt'))));
  const sink = () => ({ text: '', write(s: string) { this.text += s; return true; } });
  const err = sink();
  assert.is(await main(['validate', file], { stdout: sink() as never, stderr: err as never }), 2);
  const out = sink();
  assert.is(await main(['validate', file], { stdout: out as never, stderr: sink() as never }), 2);
  assert.match(out.text, /path_outside_workspace|outside the workspace/);
  assert.is(await main(['validate', '--allow-outside-workspace', file], { stdout: sink() as never, stderr: sink() as never }), 0);
  assert.is(await main(['run', file, '--out', join(base, 'never')], { stdout: sink() as never, stderr: err as never }), 2);
  assert.ok(!existsSync(join(outside, 'ckpt')));
});

test('resolvePath works destructured, like the other context members', async () => {
  const Probe = defineNode({
    type: 'probe/Resolve', title: 'probe', category: 'test', description: 'resolves a path', version: '1.0.0', inputs: {}, outputs: { path: { type: 'STRING' } }, output: true,
    execute: async ({ resolvePath }) => ({ path: await resolvePath('graphs/x.json', 'write') }),
  });
  const e = await createEngine({ plugins: [...builtinPlugins, definePlugin({ name: 'probe', version: '0.0.1', nodes: [Probe] })], workspace: ws });
  const r = await collectRun(e.run({ format: 'tessera-graph', version: 1, nodes: { p: { type: 'probe/Resolve' } } }, { outDir: join(root, 'runs', 'probe') }));
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  assert.is(r.results.p!.path, join(root, 'graphs', 'x.json'));
});

test.run();
