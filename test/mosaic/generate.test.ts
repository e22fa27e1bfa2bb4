import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { decodePng, readPngText } from 'tessera/image';
import { readdir } from 'node:fs/promises';
import { tempDir } from '../semalign/helpers.ts';

const root = resolve(import.meta.dirname, '../..');

// `npm start`'s graph with the bundled checkpoint, shortened (fewer samples and Euler steps).
test('graphs/mosaic-generate.json runs on the bundled checkpoint and writes the contact sheet and per-K metrics', async () => {
  const out = join(tempDir('mosaic-generate'), 'run');
  const code = await new Promise<number | null>((res) => {
    const p = spawn(process.execPath, [join(root, 'bin/tessera.mjs'), 'run', 'graphs/mosaic-generate.json', '-o', out, '-s', 'testData.test=18', '-s', 'sample.steps=8', '--json'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('exit', (c) => res(c));
  });
  assert.is(code, 0);
  const sheet = decodePng(await readFile(join(out, 'generated', 'sheet.png')), 'sheet.png', 3);
  assert.ok(sheet.width > 300 && sheet.height > 300, `sheet ${sheet.width}×${sheet.height}`);
  const perK = (await readFile(join(out, 'metrics', 'per_k.csv'), 'utf8')).trim().split('\n');
  assert.ok(perK[0]!.startsWith('k,samples'), perK[0]);
  const header = perK[0]!.split(',');
  const rows = perK.slice(1).map((r) => Object.fromEntries(r.split(',').map((v, i) => [header[i]!, Number(v)])));
  assert.ok(rows.length >= 4 && rows.every((r) => r.k! >= 1 && r.k! <= 6), `K values ${rows.map((r) => r.k)}`);
  // The trained model places each identity where its box is (retrieval above chance 1/K) and its
  // correspondence maps point near the annotated patches (PCK@1 chance is about 9/256).
  const multi = rows.filter((r) => r.k! >= 2);
  const mean = (key: string) => multi.reduce((a, r) => a + r[key]!, 0) / multi.length;
  assert.ok(mean('retrievalAcc') > mean('chance') + 0.25, `retrieval ${mean('retrievalAcc').toFixed(3)} vs chance ${mean('chance').toFixed(3)}`);
  assert.ok(mean('pck@1') > 0.2, `PCK@1 ${mean('pck@1').toFixed(3)}`);
  const heat = decodePng(await readFile(join(out, 'generated', 'heatmaps.png')), 'heatmaps.png', 3);
  assert.ok(heat.width > 100);
  // Every generated PNG carries the graph as run (the editor reopens it from a dropped PNG).
  const asRun = JSON.parse(await readFile(join(out, 'graph.json'), 'utf8')) as { nodes: Record<string, { params?: Record<string, unknown> }> };
  const one = (await readdir(join(out, 'generated'))).find((f) => f !== 'sheet.png' && f !== 'heatmaps.png')!;
  const embedded = JSON.parse(readPngText(await readFile(join(out, 'generated', one))).get('tessera-graph')!) as typeof asRun;
  assert.equal(embedded.nodes, asRun.nodes);
});

test.run();
