import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, parseGraph, migrateGraph, applyOverrides, collectRun, type ValidationIssue } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { main } from '../../app/main.ts';

const dir = new URL('../fixtures/invalid/', import.meta.url).pathname;
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json')).sort();
const engine = await createEngine({ plugins: builtinPlugins });

/** Parse + validate as the CLI does. */
function check(text: string): ValidationIssue[] {
  const parsed = parseGraph(text);
  return parsed.graph ? [...parsed.issues, ...engine.validate(parsed.graph)] : parsed.issues;
}

const sink = () => {
  let text = '';
  return { write: (s: string) => ((text += s), true), get text() { return text; } } as unknown as NodeJS.WritableStream & { text: string };
};

test('there is a fixture set of invalid graphs', () => {
  assert.ok(fixtures.length >= 12, `${fixtures.length} fixtures`);
});

for (const file of fixtures) {
  test(`invalid fixture ${file}: exactly its expected problems, each with pointer (and node id)`, async () => {
    const expected = JSON.parse(readFileSync(join(dir, file.replace(/\.json$/, '.expected.json')), 'utf8')) as Partial<ValidationIssue>[];
    const issues = check(readFileSync(join(dir, file), 'utf8'));
    const key = (i: Partial<ValidationIssue>) => `${i.code} ${i.pointer}`;
    assert.equal(issues.map(key).sort(), expected.map(key).sort());
    for (const want of expected) {
      const got = issues.find((i) => key(i) === key(want))!;
      if (want.nodeId !== undefined) assert.is(got.nodeId, want.nodeId);
      if (want.message !== undefined) assert.is(got.message, want.message);
      assert.ok(got.message.length > 5);
    }
    // The CLI refuses it with exit code 2, and no node runs.
    const out = sink();
    const err = sink();
    const code = await main(['run', join(dir, file), '--out', join(dir, '../../.artifacts/never')], { stdout: out, stderr: err });
    assert.is(code, 2);
    assert.match(err.text, /graph is invalid/);
    assert.not.match(out.text, /started/);
  });
}

test('migration: a version-0 file is upgraded and runs', async () => {
  const text = readFileSync(new URL('../fixtures/valid/v0-graph.json', import.meta.url), 'utf8');
  const parsed = parseGraph(text);
  assert.is(parsed.migratedFrom, 0);
  assert.equal(parsed.issues, []);
  assert.equal(parsed.graph!.nodes['3'], { type: 'core/Add', inputs: { a: { node: '1', output: 'value' }, b: { node: '2', output: 'value' } } });
  assert.equal(parsed.graph!.ui, { nodes: { '1': { pos: [10, 20] } } });
  assert.equal(engine.validate(parsed.graph), []);
  const run = await collectRun(engine.run(parsed.graph, { useCache: false }));
  assert.equal({ ...run.results }, { '3': { sum: 9 } }); // results may have no prototype (keyed by node ids)
});

test('migration reports repeated v0 ids and leaves current files alone', () => {
  const m = migrateGraph({ version: 0, nodes: [{ id: 'a', type: 'core/Number' }, { id: 'a', type: 'core/Number' }] });
  assert.equal(m.duplicateIds, ['/nodes/1']);
  const current = { format: 'tessera-graph', version: 1, nodes: {} };
  assert.is(migrateGraph(current).graph, current);
});

test('an unknown namespace points at plugin loading rather than a typo', () => {
  const issues = engine.validate({ format: 'tessera-graph', version: 1, nodes: { m: { type: 'acme-dpo/Update' } } });
  assert.equal(issues.map((i) => i.code), ['unknown_node_type']);
  assert.match(issues[0]!.message, /no loaded plugin provides "acme-dpo\/…"; load it with --plugin/);
});

test('the ui block is ignored by execution but checked by the schema', async () => {
  const g = { format: 'tessera-graph', version: 1, nodes: { n: { type: 'core/Number', params: { value: 2 } } }, ui: { nodes: { n: { pos: [1, 2] } }, anything: true } };
  assert.equal(engine.validate(g), []);
  const bad = { ...g, ui: { nodes: { n: { pos: 'left' } } } };
  assert.equal(engine.validate(bad).map((i) => i.pointer), ['/ui/nodes/n/pos']);
});

test('overrides: --set parses JSON values, nested keys, and reports unknown nodes', () => {
  const g = { format: 'tessera-graph', version: 1, nodes: { n: { type: 'core/Number', params: { value: 1 } } } } as const;
  const { graph, issues } = applyOverrides(g, ['n.value=3', 'n.deep.x=[1,2]', 'n.name=hello', 'ghost.value=1', 'bad']);
  assert.equal(graph.nodes.n!.params, { value: 3, deep: { x: [1, 2] }, name: 'hello' });
  assert.equal(g.nodes.n.params, { value: 1 }, 'original untouched');
  assert.equal(issues.map((i) => i.code), ['invalid_override', 'invalid_override']);
});

test.run();
