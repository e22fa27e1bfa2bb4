import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectRun, createEngine, defineNode, definePlugin, type AnyNodeDefinition } from 'tessera';
import { builtinPlugins } from 'tessera/plugins';
import { GRAPH_PNG_KEYWORD, GRAPH_PNG_MAX_CHARS, asciiJson, decodePng, encodePng, graphPngText, readPngText, withPngText } from 'tessera/image';

// The graph being run reaches nodes as ctx.graph (seed = the run's), and core/SaveImage embeds it
// in its PNG as a tEXt chunk, so the editor can reopen a graph from any image it made.

const Square = defineNode({
  type: 'pngt/Square', title: 'Square', category: 't', description: '', version: '1.0.0', inputs: {},
  outputs: { image: { type: 'IMAGE' } },
  params: { type: 'object', properties: { note: { type: 'string', default: '' } } },
  execute: () => ({ image: { width: 3, height: 2, channels: 3, data: Uint8Array.from({ length: 18 }, (_, i) => i * 10) } }),
} as AnyNodeDefinition);
let seen: unknown;
const Spy = defineNode({
  type: 'pngt/Spy', title: 'Spy', category: 't', description: '', version: '1.0.0', inputs: {}, outputs: {}, output: true, cache: 'never',
  execute: ({ graph }) => {
    seen = graph;
    return {};
  },
} as AnyNodeDefinition);
const engine = await createEngine({ plugins: [...builtinPlugins, definePlugin({ name: 'pngt', version: '1.0.0', nodes: [Square, Spy] })] });
const dir = () => mkdtempSync(join(tmpdir(), 'tessera-pngtext-'));

test('ctx.graph is the document as run, its seed the run seed', async () => {
  const doc = { format: 'tessera-graph', version: 1, name: 'spy', seed: 5, nodes: { spy: { type: 'pngt/Spy' } } };
  await collectRun(engine.run(doc, { outDir: dir() }));
  assert.equal(seen, doc);
  await collectRun(engine.run(doc, { seed: 9, outDir: dir() }));
  assert.equal(seen, { ...doc, seed: 9 });
  assert.is(doc.seed, 5, 'the caller\'s document is untouched');
});

test('core/SaveImage embeds the graph as run; the pixels are unchanged', async () => {
  const out = dir();
  const doc = { format: 'tessera-graph', version: 1, name: 'Ünïcode ✓ 🙂', nodes: { sq: { type: 'pngt/Square', params: { note: 'naïve — 🙂' } }, save: { type: 'core/SaveImage', inputs: { image: { node: 'sq', output: 'image' } } } } };
  const r = await collectRun(engine.run(doc, { outDir: out, seed: 3 }));
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const bytes = readFileSync(join(out, 'image.png'));
  const text = readPngText(bytes).get(GRAPH_PNG_KEYWORD);
  assert.ok(text, 'has the chunk');
  assert.ok(/^[\x20-\x7e]*$/.test(text!), 'ASCII only');
  assert.equal(JSON.parse(text!), { ...doc, seed: 3 });
  const img = decodePng(bytes, 'image.png', 3);
  assert.equal([...img.data], Array.from({ length: 18 }, (_, i) => i * 10));
});

test('withPngText: chunks after the header, readable back; bad keywords and text refused', () => {
  const png = encodePng({ width: 2, height: 1, channels: 1, data: Uint8Array.from([0, 255]) });
  assert.equal(readPngText(png), new Map());
  const both = withPngText(png, { a: 'one', 'tessera-graph': '{"x":1}' });
  assert.equal(readPngText(both), new Map([['a', 'one'], ['tessera-graph', '{"x":1}']]));
  assert.equal(encodePng({ width: 2, height: 1, channels: 1, data: Uint8Array.from([0, 255]) }, { a: 'one', 'tessera-graph': '{"x":1}' }), both, 'encodePng with text = withPngText');
  assert.equal([...decodePng(both, 'x.png', 1).data], [0, 255]);
  assert.throws(() => withPngText(png, { '': 'x' }), /keyword/);
  assert.throws(() => withPngText(png, { ['k'.repeat(80)]: 'x' }), /keyword/);
  assert.throws(() => withPngText(png, { k: 'snowman ☃' }), /Latin-1/);
  assert.throws(() => withPngText(Buffer.from('not a png at all, not at all, no'), { k: 'v' }), /not a PNG/);
});

test('graphPngText: ASCII JSON that parses back the same; none for huge graphs', () => {
  const doc = { name: 'x\u2713\u{1f642}', nodes: {} };
  assert.equal(JSON.parse(asciiJson(doc)), doc);
  assert.equal(JSON.parse((graphPngText(doc) as Map<string, string>).get(GRAPH_PNG_KEYWORD)!), doc);
  assert.is(graphPngText({ description: 'x'.repeat(GRAPH_PNG_MAX_CHARS) }), undefined);
  assert.is(graphPngText(undefined), undefined);
});

test.run();
