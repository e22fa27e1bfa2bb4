import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactStore, collectRun, createEngine } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';

// Repros from issue 11's "small ones": each ran wrong or crashed before.
const engine = await createEngine({ plugins: builtinPlugins });
const out = mkdtempSync(join(tmpdir(), 'tessera-core-nodes-'));

async function run(nodes: Record<string, unknown>) {
  return collectRun(engine.run({ format: 'tessera-graph', version: 1, nodes }, { outDir: join(out, String(Math.random()).slice(2)) }));
}
const link = (node: string, output: string) => ({ node, output });

test('core/ListStats on 200k values: no stack overflow, right min/max/sum', async () => {
  const values = Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 200_003);
  const r = await run({ list: { type: 'core/JSON', params: { value: values } }, stats: { type: 'core/ListStats', inputs: { list: link('list', 'value') } }, p: { type: 'core/Print', inputs: { value: link('stats', 'stats') } } });
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const stats = JSON.parse(r.results.p!.text as string) as { min: number; max: number; sum: number; length: number };
  assert.equal([stats.length, stats.min, stats.max, stats.sum], [values.length, values.reduce((a, b) => Math.min(a, b), Infinity), values.reduce((a, b) => Math.max(a, b), -Infinity), values.reduce((a, b) => a + b, 0)]);
});

test('core/Delay: an ms past what a timer can hold is refused at validation, not fired at once', () => {
  const issues = engine.validate({ format: 'tessera-graph', version: 1, nodes: { d: { type: 'core/Delay', params: { ms: 1e308 } }, p: { type: 'core/Print', inputs: { value: link('d', 'value') } } } });
  assert.equal(issues.map((i) => [i.code, i.pointer]), [['invalid_params', '/nodes/d/params/ms']]);
});

test('core/Format: {constructor} stays as written; own fields fill in', async () => {
  const r = await run({ v: { type: 'core/JSON', params: { value: { a: 1 } } }, f: { type: 'core/Format', params: { template: '{a} {constructor} {toString}' }, inputs: { values: link('v', 'value') } }, p: { type: 'core/Print', inputs: { value: link('f', 'text') } } });
  assert.is(r.status, 'done');
  assert.is(r.results.p!.text, '1 {constructor} {toString}');
});

test('core/JsonGet: path constructor is no field (the node fails clearly, SaveJSON writes nothing)', async () => {
  const r = await run({ v: { type: 'core/JSON', params: { value: { a: 1 } } }, g: { type: 'core/JsonGet', params: { path: 'constructor' }, inputs: { value: link('v', 'value') } }, s: { type: 'core/SaveJSON', inputs: { value: link('g', 'value') } } });
  assert.is(r.status, 'failed');
  assert.match(r.errors[0]!.message, /no field "constructor" at the top level \(have: a\)/);
});

test('core/SaveJSON: the legitimate name ..x.json is written inside the run; ../x.json still refused', async () => {
  const r = await run({ v: { type: 'core/JSON', params: { value: [1] } }, s: { type: 'core/SaveJSON', params: { filename: '..x.json' }, inputs: { value: link('v', 'value') } } });
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  assert.equal(JSON.parse(readFileSync(r.results.s!.path as string, 'utf8')), [1]);
  const store = new ArtifactStore(out);
  assert.throws(() => store.resolvePath('../x.json'), /escapes the run directory/);
  assert.throws(() => store.resolvePath('a/../../x.json'), /escapes the run directory/);
  assert.throws(() => store.resolvePath('.'), /escapes the run directory/);
});

test('ArtifactStore.writeJson refuses a value with no JSON form instead of writing "undefined"', async () => {
  const store = new ArtifactStore(out);
  try {
    await store.writeJson('f.json', () => 1);
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /no JSON form/);
  }
});

test.run();
