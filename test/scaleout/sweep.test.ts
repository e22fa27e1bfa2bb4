import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, createLogger, type Engine } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import type { GraphDocument } from '../../core/graph/GraphDocument.ts';
import { parseGrid, splitTopLevel } from '../../core/sweep/parseGrid.ts';
import { sweepCells } from '../../core/sweep/sweepCells.ts';
import { parseSweepTable, scalarOutputs, sweepMarkdown } from '../../core/sweep/SweepTable.ts';
import { sweepCommand } from '../../core/sweep/sweepCommand.ts';
import { lastEvent } from '../../core/records/readEvents.ts';
import { startServer, tempWorkspace } from '../server/helpers.ts';
import { captureIo, runOnce, sweepGraph, writeGraph } from './sweepSupport.ts';

// `tessera sweep` in this process: the grid checks, the cells, the table, and a real sweep
// through the in-process run queue (the Redis one is in sweepRedis.test.ts).

let engine: Engine;
const params = (type: string) => (type === 'core/Number' ? ['value'] : type === 'core/Random' ? ['min', 'max'] : type === 'core/Delay' ? ['ms', 'steps'] : undefined);
const g = sweepGraph(10) as unknown as GraphDocument;

test.before(async () => {
  engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => undefined) });
});

test('grid values: JSON where they parse, strings otherwise; commas inside [], {} and "" do not split', () => {
  assert.equal(splitTopLevel('1,[2,3],{"a":1,"b":2},"x,y",hello'), ['1', '[2,3]', '{"a":1,"b":2}', '"x,y"', 'hello']);
  const { axes, seeds, issues } = parseGrid(g, ['b.value=1,2.5,"3",true', 'a.max=[1,2],abc'], '0,7', params);
  assert.equal(issues, []);
  assert.equal(axes, [{ nodeId: 'b', path: ['value'], values: [1, 2.5, '3', true] }, { nodeId: 'a', path: ['max'], values: [[1, 2], 'abc'] }]);
  assert.equal(seeds, [0, 7]);
  // No --seeds: the graph's seed, else 0.
  assert.equal(parseGrid({ ...g, seed: 42 }, [], undefined, params).seeds, [42]);
  assert.equal(parseGrid(g, [], undefined, params).seeds, [0]);
});

test('every grid problem is reported at once, with JSON pointers, before anything runs', () => {
  const { issues } = parseGrid(g, ['bb.value=1', 'b.valu=1', 'b.value=1,,2', 'nonsense', 'a.min=1', 'a.min=2', '__proto__.x=1', 'b.__proto__=1'], '1,x,1,-1', params);
  const lines = issues.map((i) => `${i.pointer} ${i.message}`);
  assert.equal(lines, [
    '/nodes/bb --grid "bb.value": no node "bb" in the graph (did you mean "b"?)',
    '/nodes/b/params/valu --grid "b.valu": core/Number has no param "valu" (did you mean "value"?); its params: value',
    '/nodes/b/params/value --grid "b.value": empty value in "1,,2" (values are separated by commas)',
    ' --grid expects node.param=a,b,c, got "nonsense"',
    '/nodes/a/params/min --grid "a.min" is given twice',
    '/nodes/__proto__ --grid "__proto__.x": no node "__proto__" in the graph',
    '/nodes/b/params/__proto__ --grid "b.__proto__": core/Number has no param "__proto__"; its params: value',
    ' --seeds: "x" is not an integer in 0..4294967295',
    ' --seeds: 1 is given twice',
    ' --seeds: "-1" is not an integer in 0..4294967295',
  ]);
  assert.match(parseGrid(g, ['b.value=' + Array.from({ length: 101 }, (_, i) => i).join(','), 'a.max=' + Array.from({ length: 100 }, (_, i) => i).join(',')], undefined, params).issues[0]!.message, /10100 runs; at most 10000/);
});

test('cells: the grid × seeds in order, each graph with its params set as --set would', () => {
  const { axes, seeds } = parseGrid(g, ['b.value=1,2', 'a.max=10,"x"'], '3,4', params);
  const { cells, issues } = sweepCells(g, axes, seeds);
  assert.equal(issues, []);
  assert.is(cells.length, 8);
  assert.equal(cells.map((c) => [c.params.map((p) => p.value), c.seed]), [[[1, 10], 3], [[1, 10], 4], [[1, 'x'], 3], [[1, 'x'], 4], [[2, 10], 3], [[2, 10], 4], [[2, 'x'], 3], [[2, 'x'], 4]]);
  const nodes = cells[2]!.graph.nodes as Record<string, { params: Record<string, unknown> }>;
  assert.equal(nodes.b!.params, { value: 1 });
  assert.equal(nodes.a!.params, { min: 0, max: 'x' });
  // The base graph is untouched, and keys tell the cells apart.
  assert.equal((g.nodes as Record<string, { params: Record<string, unknown> }>).b!.params, { value: 5 });
  assert.is(new Set(cells.map((c) => c.key)).size, 8);
});

test('the table keeps scalar outputs (node.port.key), skips arrays and summaries, and reads back', () => {
  const outputs = scalarOutputs({ s: { sum: 3, label: 'a|b', stats: { mean: 1.5, list: [1, 2] }, img: { $summary: 'image 8×8×3' } }, __proto__: { x: 1 } });
  assert.equal(Object.getPrototypeOf(outputs), null);
  assert.equal({ ...outputs }, { 's.sum': 3, 's.label': 'a|b', 's.stats.mean': 1.5 });
  const table = {
    format: 'tessera-sweep', version: 1, graph: 'g.json', graphHash: 'h', where: 'in-process', grid: [{ node: 'b', param: 'value', values: [1] }], seeds: [0],
    updatedAt: 'now', counts: { done: 1 }, columns: ['s.label', 's.sum'], rows: [{ index: 0, key: 'k', params: [{ node: 'b', param: 'value', value: 1 }], seed: 0, runId: 'r', status: 'done', durationMs: 1500, outputs }],
  } as const;
  const md = sweepMarkdown(table as never);
  assert.ok(md.includes('| # | b.value | seed | status | run | s | s.label | s.sum | error |'), md);
  assert.ok(md.includes('| 0 | 1 | 0 | done | r | 1.50 | a\\|b | 3 |  |'), md);
  const back = parseSweepTable(JSON.parse(JSON.stringify(table)));
  assert.equal(back?.rows[0]?.outputs ? { ...back.rows[0].outputs } : undefined, { 's.sum': 3, 's.label': 'a|b', 's.stats.mean': 1.5 });
  assert.is(parseSweepTable({ format: 'tessera-sweep', version: 2, graphHash: 'h', rows: [] }), undefined);
});

test('an in-process sweep runs each cell once, with the results of runs one by one, and resumes', async () => {
  const dir = tempWorkspace('tessera-sweep-');
  const file = writeGraph(dir, sweepGraph(10));
  const out = join(dir, 'sweep');
  const { io, text } = captureIo();
  const opts = { grid: ['b.value=1,2'], seeds: '0,1,2', out, concurrency: 2, engine };
  assert.is(await sweepCommand(file, opts, io), 0, text());
  const table = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
  assert.is(table.rows.length, 6);
  assert.equal(table.counts, { done: 6 });
  for (const row of table.rows) {
    const cell = JSON.parse(JSON.stringify(sweepGraph(10)));
    cell.nodes.b.params.value = row.params[0].value;
    const reference = await runOnce(engine, cell, row.seed);
    assert.equal((await lastEvent(join(out, 'runs', row.runId, 'events.jsonl')))?.results, reference);
    assert.equal(row.outputs, { ...scalarOutputs(reference) });
    assert.type(row.outputs['sum.sum'], 'number'); // core/Add's port is `sum`
    assert.is(row.outputs['sum.sum'], (reference.sum as { sum: number }).sum);
  }
  assert.ok(readFileSync(join(out, 'sweep.md'), 'utf8').includes('| # | b.value | seed | status |'));
  // Again, with one more value: the six done cells are kept (same run ids), only the new three run.
  const before = new Map(table.rows.map((r: { key: string; runId: string }) => [r.key, r.runId]));
  assert.is(await sweepCommand(file, { ...opts, grid: ['b.value=1,2,3'] }, io), 0, text());
  const again = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
  assert.is(again.rows.length, 9);
  assert.is(again.rows.filter((r: { key: string; runId: string }) => before.get(r.key) === r.runId).length, 6);
  assert.match(text(), /6 of 9 runs already done/);
  // A changed graph in the same folder is refused, not mixed in.
  writeFileSync(file, JSON.stringify(sweepGraph(20)));
  assert.is(await sweepCommand(file, opts, io), 2);
  assert.match(text(), /holds a sweep of another graph/);
});

test('a sweep with --server submits to a running server (with its token) and resumes by waiting for its runs', async () => {
  const server = await startServer({ token: 'sweep-secret' });
  try {
    const dir = tempWorkspace('tessera-sweep-');
    const file = writeGraph(dir, sweepGraph(10));
    const out = join(dir, 'sweep');
    const { io, text } = captureIo();
    assert.is(await sweepCommand(file, { grid: ['b.value=3'], seeds: '1,2', out, server: server.url, concurrency: 1, engine }, io), 1, text()); // every submit refused: the rows say why
    assert.match(text(), /401|token/);
    assert.is(await sweepCommand(file, { grid: ['b.value=3'], seeds: '1,2', out, server: server.url, token: 'sweep-secret', concurrency: 1, engine }, io), 0, text());
    const table = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
    assert.is(table.where, server.url);
    assert.not.ok('runsDir' in table);
    for (const row of table.rows) {
      const cell = JSON.parse(JSON.stringify(sweepGraph(10)));
      cell.nodes.b.params.value = 3;
      assert.equal(row.outputs, { ...scalarOutputs(await runOnce(engine, cell, row.seed)) });
      assert.is(server.queue.get(row.runId)?.status, 'done');
    }
    // A row left "queued" by a sweep that stopped is waited for again on the server, not run twice.
    const row0 = table.rows[0];
    writeFileSync(join(out, 'sweep.json'), JSON.stringify({ ...table, rows: [{ ...row0, status: 'queued', outputs: undefined }, table.rows[1]] }));
    const before = server.queue.list().length;
    assert.is(await sweepCommand(file, { grid: ['b.value=3'], seeds: '1,2', out, server: server.url, token: 'sweep-secret', concurrency: 1, engine }, io), 0, text());
    assert.is(server.queue.list().length, before);
    assert.is(JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')).rows[0].runId, row0.runId);
  } finally {
    await server.close();
  }
});

test('an invalid sweep exits 2 with every problem and writes nothing', async () => {
  const dir = tempWorkspace('tessera-sweep-');
  const file = writeGraph(dir, sweepGraph(10));
  const out = join(dir, 'sweep');
  const { io, text } = captureIo();
  // b.value must be a number: the cell graphs are validated too.
  assert.is(await sweepCommand(file, { grid: ['b.value=1,"text"', 'zz.q=1'], seeds: '0', out, concurrency: 1, engine }, io), 2);
  assert.match(text(), /no node "zz"/);
  assert.not.match(text(), /b\.value="text"/); // grid problems first; the cells are checked once the grid is sound
  assert.is(await sweepCommand(file, { grid: ['b.value=1,"text"'], seeds: '0', out, concurrency: 1, engine }, io), 2);
  assert.match(text(), /with b\.value="text": .*\/nodes\/b\/params\/value|node b at \/nodes\/b\/params\/value: with b\.value="text"/);
  assert.not.ok(existsSync(out));
  assert.is(await sweepCommand(file, { grid: [], out, concurrency: 1, engine, server: 'http://127.0.0.1:1', queue: 'redis://127.0.0.1' }, io), 2);
  assert.is(await sweepCommand(file, { grid: [], out, concurrency: 1, engine, queue: 'redis://10.0.0.5:6379' }, io), 2);
  assert.match(text(), /not on loopback/);
  assert.not.ok(existsSync(out));
});

test.run();
