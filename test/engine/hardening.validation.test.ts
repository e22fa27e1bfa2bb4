/**
 * Validation is total (issue 11, item 1): every repro of a validator crash, the size limits and
 * the issue cap, each as a test; then a bounded property-based fuzz run (the long one is
 * bench/fuzz/validate.fuzz.ts) and a few real CLI processes on fuzzed files.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, parseGraph, migrateGraph, applyOverrides, collectRun, canonicalJson, loadGraphFile, type ValidationIssue } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { main } from '../../app/main.ts';
import { planRun } from '../../core/engine/planRun.ts';
import { cloneJson } from '../../core/util/cloneJson.ts';
import { closestMatch } from '../../core/util/closestMatch.ts';
import { summarizeValue, toWireValue } from '../../core/util/summarizeValue.ts';
import { splitPortType, isPortCompatible } from '../../core/plugin/portTypes.ts';
import { capIssues } from '../../core/graph/ValidationIssue.ts';
import { GRAPH_LIMITS } from '../../core/graph/graphLimits.ts';
import { applyMutant, checkDocument, graphish, jsonish, mutant, nested, PROTO_KEYS } from '../../bench/fuzz/graphFuzz.ts';

const root = new URL('../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'tessera-hardening-'));
const engine = await createEngine({ plugins: builtinPlugins });

const graph = (nodes: Record<string, unknown>) => ({ format: 'tessera-graph', version: 1, nodes });
const codes = (issues: readonly ValidationIssue[]) => issues.map((i) => `${i.code} ${i.pointer}`);
const sink = () => {
  let text = '';
  return { write: (s: string) => ((text += s), true), get text() { return text; } } as unknown as NodeJS.WritableStream & { text: string };
};
/** `tessera <args>` in-process, as the executable would run it. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = sink();
  const err = sink();
  const code = await main(args, { stdout: out, stderr: err });
  return { code, stdout: out.text, stderr: err.text };
}
const STACK_LINE = /^\s+at .+[(:]\d+/m;

// ---------------------------------------------------------------- repros from the issue

test('a link with no output, or "output": 5, is a schema issue (no did-you-mean crash)', () => {
  for (const link of [{ node: 'n' }, { node: 'n', output: 5 }, { node: 'n', output: null }, { node: 'n', output: ['value'] }]) {
    const issues = engine.validate(graph({ n: { type: 'core/Number' }, p: { type: 'core/Print', inputs: { value: link } } }));
    assert.ok(issues.length >= 1, JSON.stringify(link));
    assert.ok(issues.every((i) => i.pointer.startsWith('/nodes/p/inputs/value') && i.nodeId === 'p'), JSON.stringify(issues));
  }
  // The did-you-mean helper itself takes anything.
  assert.is(closestMatch(undefined, ['a']), undefined);
  assert.is(closestMatch(5, ['five']), undefined);
  assert.is(closestMatch('valeu', ['value', 7 as unknown as string]), 'value');
  assert.is(closestMatch('x'.repeat(100_000), ['x']), undefined, 'no quadratic work on a huge word');
});

test('splitPortType / isPortCompatible take a missing type without throwing', () => {
  assert.equal(splitPortType(undefined as unknown as string), []);
  assert.is(isPortCompatible(undefined as unknown as string, 'NUMBER'), false);
  assert.equal(splitPortType('IMAGE | TENSOR'), ['IMAGE', 'TENSOR']);
});

test('ports named toString, constructor, __proto__, valueOf, hasOwnProperty are unknown ports, not Object.prototype members', () => {
  for (const name of ['toString', 'constructor', '__proto__', 'valueOf', 'hasOwnProperty']) {
    // As file text, so JSON.parse makes `__proto__` an own key as it would for a real file.
    const text = JSON.stringify(graph({ n: { type: 'core/Number' }, p: { type: 'core/Print', inputs: { value: { node: 'n', output: 'value' } } } })).replace('"value":{"node"', `"${name}":{"node":"n","output":"value"},"value":{"node"`);
    const parsed = parseGraph(text);
    assert.equal(parsed.issues, []);
    const input = engine.validate(parsed.graph);
    assert.equal(codes(input), [`unknown_input /nodes/p/inputs/${name}`], name);
    // …and as an output name on a link.
    const output = engine.validate(graph({ n: { type: 'core/Number' }, p: { type: 'core/Print', inputs: { value: { node: 'n', output: name } } } }));
    assert.equal(codes(output), ['unknown_output /nodes/p/inputs/value/output'], name);
  }
  assert.is(({} as Record<string, unknown>).polluted, undefined);
});

test('a node id __proto__ is an ordinary node id, in version 1 and after v0 migration', async () => {
  const text = '{"format":"tessera-graph","version":1,"nodes":{"__proto__":{"type":"core/Number","params":{"value":4}},"p":{"type":"core/Print","inputs":{"value":{"node":"__proto__","output":"value"}}}}}';
  const parsed = parseGraph(text);
  assert.equal(engine.validate(parsed.graph), []);
  const run = await collectRun(engine.run(parsed.graph, { useCache: false }));
  assert.is(run.status, 'done');
  const v0 = parseGraph('{"version":0,"nodes":[{"id":"__proto__","type":"core/Number"},{"id":"p","type":"core/Print","inputs":{"value":["__proto__","value"]}}]}');
  assert.ok(Object.hasOwn(v0.graph!.nodes, '__proto__'));
  assert.is(Object.getPrototypeOf(v0.graph!.nodes), Object.prototype);
  assert.equal(engine.validate(v0.graph), []);
});

test('a v0 graph with an object id (or an object in a link) is refused with an issue, not a TypeError', () => {
  const m = migrateGraph({ version: 0, nodes: [{ id: { toString: null }, type: 'core/Number' }, { id: 'p', type: 'core/Print', inputs: { value: [{ toString: 1 }, 'value'] } }, 7] });
  assert.equal(m.issues.map((i) => `${i.code} ${i.pointer}`), ['schema /nodes/0/id', 'schema /nodes/2']);
  const issues = engine.validate(m.graph);
  assert.ok(issues.some((i) => i.pointer === '/nodes/p/inputs/value'), JSON.stringify(issues));
  const parsed = parseGraph(JSON.stringify({ version: 0, nodes: [{ id: ['x'], type: 'core/Number' }] }));
  assert.equal(codes(parsed.issues), ['schema /nodes/0/id']);
});

test('a link to a missing node named constructor: validate says dangling_link, and so does run (not "cycle")', async () => {
  for (const missing of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    const g = graph({ p: { type: 'core/Print', inputs: { value: { node: missing, output: 'value' } } } });
    assert.equal(codes(engine.validate(g)), ['dangling_link /nodes/p/inputs/value/node'], missing);
    const run = await collectRun(engine.run(g));
    assert.is(run.status, 'failed');
  }
  const file = join(tmp, 'dangling-constructor.json');
  writeFileSync(file, JSON.stringify(graph({ p: { type: 'core/Print', inputs: { value: { node: 'constructor', output: 'value' } } } })));
  const v = await cli(['validate', file]);
  assert.is(v.code, 2);
  assert.match(v.stdout, /links to missing node "constructor" \[dangling_link\]/);
  const r = await cli(['run', file, '--out', join(tmp, 'never')]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /dangling_link/);
  assert.not.match(r.stderr, /cycle/);
});

test('3000-level nested params: a too_deep issue with its pointer; cloneJson/canonicalJson fail with a plain Error', async () => {
  const g = graph({ n: { type: 'core/Number', params: { value: 1, deep: nested(3000) } } });
  const issues = engine.validate(g);
  assert.equal(issues.map((i) => i.code), ['too_deep']);
  assert.is(issues[0]!.nodeId, 'n');
  assert.ok(issues[0]!.pointer.startsWith('/nodes/n/params/deep/0/a/0/a/'), issues[0]!.pointer.slice(0, 60));
  assert.is(issues[0]!.pointer.split('/').length - 1, GRAPH_LIMITS.depth, 'points at the first level too deep');
  assert.match(issues[0]!.message, /more than 256 levels/);
  const run = await collectRun(engine.run(g));
  assert.is(run.status, 'failed');
  for (const f of [() => cloneJson(nested(3000)), () => canonicalJson(nested(3000))]) {
    try {
      f();
      assert.unreachable('should throw');
    } catch (error) {
      assert.not.instance(error, RangeError);
      assert.match((error as Error).message, /nested deeper than 1000 levels/);
    }
  }
  // Within the limit both still work.
  assert.is(canonicalJson(cloneJson(nested(250))), canonicalJson(nested(250)));
});

test('"inputs": a 100 KB string gives one schema issue (was 100,002 issues)', async () => {
  const g = graph({ p: { type: 'core/Print', inputs: 'x'.repeat(100 * 1024) } });
  assert.equal(codes(engine.validate(g)), ['schema /nodes/p/inputs']);
  const file = join(tmp, 'string-inputs.json');
  writeFileSync(file, JSON.stringify(g));
  const r = await cli(['validate', file]);
  assert.is(r.code, 2);
  assert.ok(r.stdout.length < 2000, `${r.stdout.length} bytes of output`);
});

test('a 200,000-level document: too_deep from validate and from parseGraph, fast and without a stack overflow', () => {
  const start = performance.now();
  const deep = nested(200_000);
  const issues = engine.validate({ format: 'tessera-graph', version: 1, nodes: {}, metadata: deep });
  assert.equal(issues.map((i) => i.code), ['too_deep']);
  assert.ok(issues[0]!.pointer.startsWith('/metadata/'), issues[0]!.pointer.slice(0, 60));
  const parsed = parseGraph('{"format":"tessera-graph","version":1,"nodes":{},"metadata":' + '['.repeat(200_000) + ']'.repeat(200_000) + '}');
  assert.equal(parsed.graph, undefined);
  assert.equal(parsed.issues.map((i) => i.code), ['too_deep']);
  assert.ok(performance.now() - start < 10_000);
});

// ---------------------------------------------------------------- limits and the cap

test('issues are capped at 200 plus one "N more issues not shown" with the count', async () => {
  const inputs: Record<string, unknown> = {};
  for (let i = 0; i < 1000; i++) inputs[`port${i}`] = { node: 'n', output: 'value' };
  const g = graph({ n: { type: 'core/Number' }, p: { type: 'core/Print', inputs: { value: { node: 'n', output: 'value' }, ...inputs } } });
  const issues = engine.validate(g);
  assert.is(issues.length, GRAPH_LIMITS.issues + 1);
  const last = issues[issues.length - 1]!;
  assert.is(last.code, 'more_issues');
  assert.is(last.count, 800);
  assert.is(last.message, '800 more issues not shown');
  // Capping capped lists again folds the summaries into one.
  const twice = capIssues([...issues, ...issues]);
  assert.is(twice.length, 201);
  assert.is(twice[200]!.count, 800 + 800 + 200);
  const file = join(tmp, 'many-issues.json');
  writeFileSync(file, JSON.stringify(g));
  const r = await cli(['validate', file, '--json']);
  assert.is(r.code, 2);
  const [report] = JSON.parse(r.stdout) as { issues: ValidationIssue[] }[];
  assert.is(report!.issues.length, 201);
  assert.is(report!.issues[200]!.code, 'more_issues');
});

test('node count, string length and key length limits, each with a pointer', () => {
  const many: Record<string, unknown> = {};
  for (let i = 0; i <= GRAPH_LIMITS.nodes; i++) many[`n${i}`] = { type: 'core/Number' };
  const tooMany = engine.validate(graph(many));
  assert.equal(codes(tooMany), ['too_large /nodes']);
  assert.match(tooMany[0]!.message, /10001 nodes; at most 10000/);
  const long = 'x'.repeat(GRAPH_LIMITS.stringLength + 1);
  const strings = engine.validate(graph({ n: { type: 'core/Number', title: long, params: { [long]: 1 } } }));
  assert.equal(strings.map((i) => i.code), ['too_large', 'too_large']);
  assert.ok(strings.some((i) => i.pointer === '/nodes/n/title' && i.nodeId === 'n'));
  assert.ok(strings.every((i) => i.message.length < 200), 'the message does not repeat the string');
  // Exactly at the limits is fine.
  assert.equal(engine.validate(graph({ n: { type: 'core/Number', title: 'x'.repeat(GRAPH_LIMITS.stringLength) } })), []);
});

test('files: over 50 MB, empty, binary, a folder, BOM, top-level null/array/number: exit 2 with an issue, never a stack', async () => {
  const big = join(tmp, 'big.json');
  const fd = openSync(big, 'w');
  ftruncateSync(fd, GRAPH_LIMITS.fileBytes + 1); // sparse: costs no disk
  closeSync(fd);
  assert.equal((await loadGraphFile(big)).issues.map((i) => i.code), ['too_large']);
  const files: Record<string, string | Buffer> = {
    'empty.json': '',
    'binary.json': Buffer.from([0, 255, 254, 1, 2, 0x7b]),
    'null.json': 'null',
    'array.json': '[{"type":"core/Number"}]',
    'number.json': '5',
    'string.json': '"tessera-graph"',
    'truncated.json': '{"format":"tessera-graph","version":1,"nodes":{"n":',
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(tmp, name), content);
  mkdirSync(join(tmp, 'folder.json'), { recursive: true });
  const paths = [big, ...Object.keys(files).map((f) => join(tmp, f)), join(tmp, 'folder.json'), join(tmp, 'missing.json')];
  const v = await cli(['validate', ...paths, '--json']);
  assert.is(v.code, 2);
  const report = JSON.parse(v.stdout) as { file: string; valid: boolean; issues: ValidationIssue[] }[];
  for (const r of report) {
    assert.is(r.valid, false, r.file);
    assert.ok(r.issues.length === 1 && r.issues[0]!.message.length > 5 && typeof r.issues[0]!.pointer === 'string', JSON.stringify(r));
  }
  for (const p of paths) {
    const r = await cli(['run', p, '--out', join(tmp, 'never')]);
    assert.is(r.code, 2, p);
    assert.not.match(r.stderr, STACK_LINE);
  }
  const bom = join(tmp, 'bom.json');
  writeFileSync(bom, '\ufeff' + JSON.stringify(graph({ n: { type: 'core/Number' } })));
  assert.is((await cli(['validate', bom])).code, 0);
});

test('--set cannot reach Object.prototype, and names only nodes of the graph', () => {
  const g = graph({ n: { type: 'core/Number', params: { value: 1 } } }) as never;
  const { graph: out, issues } = applyOverrides(g, ['n.__proto__.polluted=1', 'constructor.value=1', 'toString.x=2']);
  assert.is(({} as Record<string, unknown>).polluted, undefined);
  assert.ok(Object.hasOwn((out.nodes.n!.params as object), '__proto__'));
  assert.equal(issues.map((i) => i.code), ['invalid_override', 'invalid_override']);
});

test('planRun refuses an unknown target named like a prototype member', () => {
  const g = graph({ n: { type: 'core/Number' } }) as never;
  assert.throws(() => planRun(g, engine.registry, ['constructor']), /unknown target node "constructor"/);
});

test('the wire form of a value keeps a __proto__ key as data and passes a "constructor" key through', () => {
  const v = JSON.parse('{"__proto__":{"x":1},"constructor":"c","a":[1]}');
  const w = toWireValue(v) as Record<string, unknown>;
  assert.ok(Object.hasOwn(w, '__proto__'));
  assert.is(w.x, undefined);
  assert.is(w.constructor, 'c');
  assert.is(summarizeValue(v), '{__proto__, constructor, a}');
});

// ---------------------------------------------------------------- property-based fuzzing

const seed = Number(process.env.FUZZ_SEED) || 20261;

test('fuzz: validate never throws and what validates plans — arbitrary JSON', () => {
  fc.assert(fc.property(jsonish, (d) => checkDocument(engine, d)), { numRuns: 2000, seed });
});

test('fuzz: … graph-shaped documents with prototype-named ids, ports and keys', () => {
  fc.assert(fc.property(graphish, (d) => checkDocument(engine, d)), { numRuns: 2000, seed });
});

test('fuzz: … mutations of graphs/*.json (deleted keys, null/number/array/huge/deep values, prototype names)', () => {
  fc.assert(fc.property(mutant, (m) => checkDocument(engine, applyMutant(m))), { numRuns: 3000, seed });
});

/** Runs the real `tessera` executable. */
function tessera(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin/tessera.mjs'), ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('fuzz, real CLI: validate and run of mutated graphs exit 0 or 2, never with a stack', async () => {
  const dir = join(tmp, 'mutants');
  mkdirSync(dir);
  const samples = fc.sample(mutant, { numRuns: 12, seed });
  const files = samples.map((m, i) => {
    const file = join(dir, `m${i}.json`);
    writeFileSync(file, JSON.stringify(applyMutant(m)));
    return file;
  });
  for (const [i, name] of PROTO_KEYS.slice(0, 3).entries()) {
    const file = join(dir, `proto${i}.json`);
    writeFileSync(file, `{"format":"tessera-graph","version":1,"nodes":{"${name}":{"type":"core/Number","inputs":{"${name}":{"node":"${name}"}}}}}`);
    files.push(file);
  }
  const v = await tessera(['validate', ...files, '--json']);
  assert.ok(v.code === 0 || v.code === 2, `exit ${v.code}: ${v.stderr}`);
  assert.not.match(v.stderr + v.stdout, STACK_LINE);
  const report = JSON.parse(v.stdout) as { file: string; valid: boolean }[];
  assert.is(report.length, files.length);
  assert.is(v.code, report.every((r) => r.valid) ? 0 : 2);
  const invalid = report.find((r) => !r.valid)!;
  const r = await tessera(['run', invalid.file, '--out', join(tmp, 'never-run')]);
  assert.is(r.code, 2);
  assert.not.match(r.stderr, STACK_LINE);
  assert.match(r.stderr, /graph is invalid/);
});

test.run();
