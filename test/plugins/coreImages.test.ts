// Issue 16 item 8: core/LoadImage (PNG from the workspace, cached on the file's size and mtime)
// and core/SaveImage file-name patterns for streams.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, realpathSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectRun, createEngine, createLogger, defineNode, definePlugin, Workspace, type ImageValue } from 'tessera';
import { decodePng, encodePng } from 'tessera/image';
import core from '../../plugins/core/index.ts';
import { formatFilename, hasIndexPlaceholder } from '../../plugins/core/nodes/filenamePattern.ts';

const workspace = realpathSync(mkdtempSync(join(tmpdir(), 'tessera-images-')));
const image = (w: number, h: number, seed: number): ImageValue => ({ width: w, height: h, channels: 3, data: Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37 + seed * 11) % 256) });

/** Streams `count` images, then ends. */
const Frames = defineNode({
  type: 'frames/Frames', title: 'Frames', category: 'frames', description: 'count images as a stream', version: '1.0.0',
  inputs: {}, outputs: { image: { type: 'IMAGE', stream: true } },
  params: { type: 'object', properties: { count: { type: 'integer', default: 3 } }, additionalProperties: false },
  async *execute({ params }) {
    for (let i = 0; i < params.count; i++) yield { image: image(4, 2, i) };
  },
});
const engine = await createEngine({ plugins: [core, definePlugin({ name: 'frames', version: '1.0.0', nodes: [Frames] })], logger: createLogger(() => {}, 'error'), workspace: new Workspace(workspace) });
const out = () => mkdtempSync(join(workspace, 'run-'));
const loadGraph = (path: string, extra: Record<string, unknown> = {}) => ({
  format: 'tessera-graph', version: 1,
  nodes: { load: { type: 'core/LoadImage', params: { path, ...extra } }, save: { type: 'core/SaveImage', params: { filename: 'copy.png' }, inputs: { image: { node: 'load', output: 'image' } } } },
});

test('core/LoadImage reads a PNG relative to the workspace root', async () => {
  writeFileSync(join(workspace, 'in.png'), encodePng(image(5, 3, 1)));
  const dir = out();
  const r = await collectRun(engine.run(loadGraph('in.png'), { outDir: dir }));
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  assert.equal(decodePng(readFileSync(join(dir, 'copy.png')), 'copy.png', 3), image(5, 3, 1));
});

test('core/LoadImage: a path outside the workspace is a validation issue at the param, and nothing runs', async () => {
  const issues = engine.validate(loadGraph('../elsewhere.png'));
  assert.equal(issues.map((i) => [i.code, i.pointer]), [['path_outside_workspace', '/nodes/load/params/path']]);
  const r = await collectRun(engine.run(loadGraph('/etc/hostname'), { outDir: out() }));
  assert.is(r.status, 'failed');
  assert.not.ok(r.events.some((e) => e.type === 'node:start'));
});

test('core/LoadImage: a corrupt file and a missing file fail the node, naming the file', async () => {
  writeFileSync(join(workspace, 'broken.png'), 'not a png at all');
  const bad = await collectRun(engine.run(loadGraph('broken.png'), { outDir: out() }));
  assert.is(bad.status, 'failed');
  assert.match(bad.errors[0]!.message, new RegExp(`${join(workspace, 'broken.png')}: corrupt or unreadable PNG`));
  const missing = await collectRun(engine.run(loadGraph('nope.png'), { outDir: out() }));
  assert.match(missing.errors[0]!.message, /core\/LoadImage: cannot read .*nope\.png \(no such file\)/);
});

test('core/LoadImage is cached while the file keeps its size and mtime, and re-read when it changes', async () => {
  const file = join(workspace, 'changing.png');
  writeFileSync(file, encodePng(image(4, 4, 2)));
  utimesSync(file, 1_000_000, 1_000_000);
  const first = await collectRun(engine.run(loadGraph('changing.png'), { outDir: out() }));
  const again = await collectRun(engine.run(loadGraph('changing.png'), { outDir: out() }));
  assert.ok(first.events.some((e) => e.type === 'node:start' && e.nodeId === 'load'));
  assert.ok(again.events.some((e) => e.type === 'node:cached' && e.nodeId === 'load'), 'same file: cached');
  writeFileSync(file, encodePng(image(6, 4, 3)));
  const dir = out();
  const changed = await collectRun(engine.run(loadGraph('changing.png'), { outDir: dir }));
  assert.ok(changed.events.some((e) => e.type === 'node:start' && e.nodeId === 'load'), 'changed file: read again');
  assert.equal(decodePng(readFileSync(join(dir, 'copy.png')), 'copy.png', 3), image(6, 4, 3));
});

const saveStream = async (filename: string, count = 3) => {
  const dir = out();
  const r = await collectRun(engine.run({ format: 'tessera-graph', version: 1, nodes: { f: { type: 'frames/Frames', params: { count } }, save: { type: 'core/SaveImage', params: { filename }, inputs: { image: { node: 'f', output: 'image' } } } } }, { outDir: dir }));
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  return { dir, r };
};

test('core/SaveImage: each value of a stream gets its own file from a %05d pattern, in a sub-folder', async () => {
  const { dir, r } = await saveStream('images/out_%05d.png');
  assert.equal(readdirSync(join(dir, 'images')).sort(), ['out_00000.png', 'out_00001.png', 'out_00002.png']);
  for (let i = 0; i < 3; i++) assert.equal(decodePng(readFileSync(join(dir, `images/out_0000${i}.png`)), 'f', 3), image(4, 2, i));
  const paths = r.events.filter((e) => e.type === 'node:output' && e.nodeId === 'save').map((e) => (e as unknown as { outputs: { path: string } }).outputs.path);
  assert.equal(paths, [0, 1, 2].map((i) => join(dir, `images/out_0000${i}.png`)), 'one path output per file');
});

test('core/SaveImage: {index} and a name without a placeholder (value 0 as named, then _1, _2: nothing overwritten)', async () => {
  const braces = await saveStream('frame_{index}.png');
  assert.equal(readdirSync(braces.dir).filter((f) => f.endsWith('.png')).sort(), ['frame_0.png', 'frame_1.png', 'frame_2.png']);
  const plain = await saveStream('image.png');
  assert.equal(readdirSync(plain.dir).filter((f) => f.endsWith('.png')).sort(), ['image.png', 'image_1.png', 'image_2.png']);
  assert.equal(decodePng(readFileSync(join(plain.dir, 'image_2.png')), 'f', 3), image(4, 2, 2));
});

test('formatFilename: printf-style padding, {index}, and the fallback', () => {
  assert.is(formatFilename('out_%05d.png', 42), 'out_00042.png');
  assert.is(formatFilename('out_%d.png', 42), 'out_42.png');
  assert.is(formatFilename('a/{index}/b_{index}.png', 3), 'a/3/b_3.png');
  assert.is(formatFilename('x.png', 0), 'x.png');
  assert.is(formatFilename('dir.v2/x.png', 4), 'dir.v2/x_4.png');
  assert.is(formatFilename('100%.png', 1), '100%_1.png', 'a lone % is no placeholder');
  assert.ok(hasIndexPlaceholder('a_%03d.png'));
  assert.not.ok(hasIndexPlaceholder('a_%s.png'));
  assert.throws(() => formatFilename('x.png', -1), /non-negative integer/);
});

test.run();
