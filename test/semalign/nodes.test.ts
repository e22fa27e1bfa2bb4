import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectRun, createEngine, createLogger, type Engine } from 'tessera';

import core from '../../plugins/core/index.ts';
import semalign from '../../plugins/semalign/index.ts';
import metrics from '../../plugins/metrics/index.ts';
import type { SemAlignSample } from '../../plugins/semalign/sample.ts';
import { tempDir, testWorkspace } from './helpers.ts';

const logs: string[] = [];
let engine: Engine;

/** Runs a graph of these nodes; node log records land in `logs` as "level message {fields}". */
async function run(nodes: Record<string, unknown>, outDir = tempDir('run')) {
  engine ??= await createEngine({ plugins: [core, semalign, metrics], logger: createLogger(() => {}, 'error'), workspace: testWorkspace });
  const r = await collectRun(engine.run({ format: 'tessera-graph', version: 1, name: 't', nodes }, { outDir, useCache: false }));
  for (const e of r.events) {
    if (e.type === 'node:log') logs.push(`${e.level} ${e.message} ${JSON.stringify(e.fields ?? {})}`);
  }
  return { ...r, outDir };
}

test('graphs/semalign-make.json validates and runs: dataset, contact sheet, metric tables and plots', async () => {
  const doc = JSON.parse(readFileSync('graphs/semalign-make.json', 'utf8'));
  // Same graph, fewer samples, so the test stays fast.
  doc.nodes.generate.params = { ...doc.nodes.generate.params, train: 8, val: 2, test: 2 };
  const r = await run(doc.nodes);
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const root = join(r.outDir, 'semalign');
  const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8'));
  assert.is(manifest.counts.total, 12);
  assert.ok(existsSync(join(root, 'preview.png')));
  assert.ok(r.events.some((e) => e.type === 'node:progress' && (e as { nodeId: string }).nodeId === 'generate'), 'generation reports progress');
  for (const dir of ['metrics/ground-truth', 'metrics/swap']) {
    for (const f of ['per_sample.csv', 'per_subject.csv', 'per_k.csv', 'metrics.json', 'plots/retrievalAcc.svg', 'plots/identityPsnr.svg']) {
      assert.ok(existsSync(join(r.outDir, dir, f)), `${dir}/${f} written`);
    }
  }
  assert.ok(existsSync(join(r.outDir, 'metrics/ground-truth/plots/pck_at_1.svg')));
  const perK = readFileSync(join(r.outDir, 'metrics/ground-truth/per_k.csv'), 'utf8').trim().split('\n');
  assert.match(perK[0]!, /^k,samples,subjects,chance,identityPsnr,subjectSsim,edgeCorr,descriptorCos,retrievalAcc/);
  for (const row of perK.slice(1)) assert.match(row, /^\d,\d+,\d+,[\d.]+,100,1,1,/, 'ground truth scores perfectly');
});

test('Generate to disk with workers, then Load streams batches filtered by K, shuffled by seed', async () => {
  const gen = await run({ g: { type: 'semalign/Generate', params: { train: 16, val: 0, test: 0, kMin: 1, kMax: 4, inMemory: false, workers: 2 } } });
  assert.is(gen.status, 'done', JSON.stringify(gen.errors));
  const dir = join(gen.outDir, 'semalign');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const want = manifest.samples.filter((e: { k: number }) => e.k >= 2 && e.k <= 3).map((e: { id: string }) => e.id);
  const order: string[][] = [];
  for (let i = 0; i < 2; i++) {
    const r = await run({
      load: { type: 'semalign/Load', params: { dir, kMin: 2, kMax: 3, shuffle: true, seed: 5, batchSize: 4 } },
      all: { type: 'core/Collect', inputs: { stream: { node: 'load', output: 'batch' } } },
    });
    assert.is(r.status, 'done', JSON.stringify(r.errors));
    const batches = r.results.all!.list as SemAlignSample[][];
    assert.ok(batches.every((b) => b.length <= 4));
    const ids = batches.flat().map((s) => s.annotation.id);
    assert.equal([...ids].sort(), [...want].sort(), 'exactly the K = 2..3 samples');
    order.push(ids);
  }
  assert.equal(order[0], order[1], 'seeded shuffle is reproducible');
  assert.not.equal(order[0], [...order[0]!].sort(), 'and actually shuffles');
  assert.ok(logs.some((l) => l.includes('semalign load: selection') && l.includes('"droppedByK"')), 'the K filter says what it dropped');
});

test('LoadAll: a bad file fails the node naming it, or is logged and counted with onError = warn', async () => {
  const gen = await run({ g: { type: 'semalign/Generate', params: { train: 4, val: 0, test: 0, inMemory: false, workers: 0 } } });
  const dir = join(gen.outDir, 'semalign');
  const f = join(dir, 'train/train-0000002_target.png');
  const bytes = readFileSync(f);
  bytes.fill(0, 30, 50);
  writeFileSync(f, bytes);
  const fail = await run({ l: { type: 'semalign/LoadAll', params: { dir } } });
  assert.is(fail.status, 'failed');
  assert.match(JSON.stringify(fail.errors), /train\/train-0000002_target\.png: corrupt or unreadable PNG/);
  logs.length = 0;
  const warn = await run({ l: { type: 'semalign/LoadAll', params: { dir, onError: 'warn' } } });
  assert.is(warn.status, 'done', JSON.stringify(warn.errors));
  assert.is((warn.results.l!.samples as SemAlignSample[]).length, 3);
  assert.ok(logs.some((l) => l.startsWith('warn semalign load: sample skipped') && l.includes('train-0000002')));
  assert.ok(logs.some((l) => l.includes('samples skipped because of errors') && l.includes('"skipped":1')));
});

test('Load takes its folder from Generate.dir through a link', async () => {
  const r = await run({
    g: { type: 'semalign/Generate', params: { train: 5, val: 0, test: 0, inMemory: false, workers: 0 } },
    l: { type: 'semalign/LoadAll', params: { kMin: 1, kMax: 8 }, inputs: { dir: { node: 'g', output: 'dir' } } },
    out: { type: 'core/Print', inputs: { value: { node: 'l', output: 'manifest' } } },
  });
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const mem = await run({ g: { type: 'semalign/Generate', params: { train: 3, val: 1, test: 0, write: false } } });
  const manifest = mem.results.g!.manifest as { counts: { total: number } };
  assert.is(manifest.counts.total, 4, 'an in-memory manifest still lists the samples');
});

test('DipPairs splits winners, losers and masks', async () => {
  const r = await run({
    g: { type: 'semalign/Generate', params: { train: 3, val: 0, test: 0, write: false } },
    d: { type: 'semalign/DipPairs', inputs: { samples: { node: 'g', output: 'samples' } } },
    out: { type: 'core/Print', inputs: { value: { node: 'd', output: 'pairs' } } },
  });
  assert.is(r.status, 'done', JSON.stringify(r.errors));
});

test.run();
