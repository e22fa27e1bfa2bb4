import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createEngine, createLogger, type Engine } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import type { GraphDocument } from '../../core/graph/GraphDocument.ts';
import { parseGrid } from '../../core/sweep/parseGrid.ts';
import { queueTarget } from '../../core/sweep/queueTarget.ts';
import { runSweep, type SweepPlan } from '../../core/sweep/runSweep.ts';
import { serverTarget } from '../../core/sweep/serverTarget.ts';
import { sweepCells } from '../../core/sweep/sweepCells.ts';
import type { SweepTarget } from '../../core/sweep/SweepTarget.ts';
import type { SweepRow } from '../../core/sweep/SweepTable.ts';
import { startServer, tempWorkspace } from '../server/helpers.ts';
import { sweepGraph } from './sweepSupport.ts';

// runSweep when things go wrong mid-sweep: a table write that fails, a server that hangs, and
// the cap on cells in flight against a server. Real runs (in-process queue or a real server).

let engine: Engine;
const params = (type: string) => (type === 'core/Number' ? ['value'] : type === 'core/Delay' ? ['ms', 'steps'] : undefined);

test.before(async () => {
  engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => undefined) });
});

function planOf(values: string, seeds: string, previous = new Map<string, SweepRow>(), delayMs = 10): SweepPlan {
  const g = sweepGraph(delayMs) as unknown as GraphDocument;
  const grid = parseGrid(g, [`b.value=${values}`], seeds, params);
  const { cells } = sweepCells(g, grid.axes, grid.seeds);
  return { graphFile: 'g.json', graphHash: 'h', axes: grid.axes, seeds: grid.seeds, cells, outDir: join(tempWorkspace('tessera-sweep-'), 'sweep'), previous };
}

/** `inner`, with sweep.md turned into a folder (every write of it fails) once the first wait has ended. */
function breakingTableAfterFirstWait(inner: SweepTarget, md: string): SweepTarget {
  let broken = false;
  return {
    ...inner,
    wait: async (runId) => {
      const end = await inner.wait(runId);
      if (!broken) {
        broken = true;
        rmSync(md);
        mkdirSync(md);
      }
      return end;
    },
  };
}

/** A warn that records the line and repairs the table folder, so the next write succeeds. */
function repairingWarn(md: string, warnings: string[]): (line: string) => void {
  return (line) => {
    warnings.push(line);
    if (statSync(md).isDirectory()) rmSync(md, { recursive: true });
  };
}

test('a table write that fails while runs are in flight is reported; the sweep goes on and ends with the full table', async () => {
  const plan = planOf('1,2,3', '0');
  const md = join(plan.outDir, 'sweep.md');
  const inner = queueTarget({ engine, runsDir: join(plan.outDir, 'runs'), concurrency: 1, where: 'in-process' });
  const warnings: string[] = [];
  try {
    const table = await runSweep(plan, breakingTableAfterFirstWait(inner, md), () => undefined, repairingWarn(md, warnings));
    assert.equal({ ...table.counts }, { done: 3 });
  } finally {
    await inner.close();
  }
  assert.ok(warnings.length >= 1, 'the failed write was not reported');
  assert.match(warnings[0]!, /sweep table was not updated: .*sweep\.md/);
  const onDisk = JSON.parse(readFileSync(join(plan.outDir, 'sweep.json'), 'utf8'));
  assert.equal(onDisk.counts, { done: 3 });
  assert.ok(statSync(md).isFile());
  assert.is(readFileSync(md, 'utf8').split('| done |').length - 1, 3);
});

test('a resumed cell whose run ended is not submitted again when the table write after it fails', async () => {
  const server = await startServer();
  try {
    const plan0 = planOf('3', '1');
    const cell = plan0.cells[0]!;
    const earlier = server.queue.enqueue({ graph: cell.graph, seed: cell.seed, label: 'earlier sweep' }).id;
    const previous = new Map<string, SweepRow>([[cell.key, { index: 0, key: cell.key, params: cell.params, seed: cell.seed, runId: earlier, status: 'queued' }]]);
    const plan = { ...plan0, previous };
    const md = join(plan.outDir, 'sweep.md');
    const inner = serverTarget(server.url, undefined);
    let submits = 0;
    const target: SweepTarget = { ...breakingTableAfterFirstWait(inner, md), submit: async (run) => (submits++, inner.submit(run)) };
    const warnings: string[] = [];
    const table = await runSweep(plan, target, () => undefined, repairingWarn(md, warnings));
    assert.is(submits, 0, 'the cell was submitted again');
    assert.is(warnings.length, 1, warnings.join('\n'));
    assert.is(table.rows[0]!.runId, earlier);
    assert.is(table.rows[0]!.status, 'done');
  } finally {
    await server.close();
  }
});

test('a --server sweep keeps at most inFlight cells submitted and polled at once (default 4)', async () => {
  const server = await startServer({ concurrency: 4 });
  try {
    assert.is(serverTarget(server.url, undefined).inFlight, 4);
    const plan = planOf('1,2,3', '0,1', undefined, 20);
    const inner = serverTarget(server.url, undefined, { inFlight: 2 });
    let active = 0;
    let most = 0;
    const target: SweepTarget = {
      ...inner,
      submit: async (run) => {
        most = Math.max(most, ++active);
        return inner.submit(run);
      },
      wait: (runId) => inner.wait(runId).finally(() => active--),
    };
    const table = await runSweep(plan, target, () => undefined);
    assert.equal({ ...table.counts }, { done: 6 });
    assert.is(most, 2);
  } finally {
    await server.close();
  }
});

test('a poll the server never answers times out and is retried; the run is still waited for', async () => {
  let polls = 0;
  const hung: ServerResponse[] = [];
  const fake = createServer((req, res) => {
    const send = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/api/runs/r1') {
      if (polls++ === 0) return void hung.push(res); // the first poll hangs
      return send({ id: 'r1', status: 'done', eventCount: 1, durationMs: 5 });
    }
    if (req.url?.startsWith('/api/runs/r1/events')) return send({ events: [{ type: 'run:done', results: { sum: { result: 7 } } }] });
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  try {
    const target = serverTarget(`http://127.0.0.1:${(fake.address() as AddressInfo).port}`, undefined, { requestMs: 200 });
    const limit = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the hung poll was never given up')), 15_000).unref());
    const end = await Promise.race([target.wait('r1'), limit]);
    assert.is(end.status, 'done');
    assert.equal(end.results, { sum: { result: 7 } });
    assert.is(polls, 2);
  } finally {
    for (const res of hung) res.destroy();
    fake.closeAllConnections();
    await new Promise((r) => fake.close(r));
  }
});

test.run();
