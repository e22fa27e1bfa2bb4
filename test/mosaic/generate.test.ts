import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { decodePng } from '../../plugins/semalign/png.ts';
import { tempDir } from '../semalign/helpers.ts';

const root = resolve(import.meta.dirname, '../..');

// `npm start`'s graph with the bundled checkpoint, shortened (fewer samples and Euler steps).
test('graphs/mosaic-generate.json runs on the bundled checkpoint and writes the contact sheet and per-K metrics', async () => {
  const out = join(tempDir('mosaic-generate'), 'run');
  const code = await new Promise<number | null>((res) => {
    const p = spawn(process.execPath, [join(root, 'bin/tessera.mjs'), 'run', 'graphs/mosaic-generate.json', '-o', out, '-s', 'testData.test=12', '-s', 'sample.steps=3', '--json'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('exit', (c) => res(c));
  });
  assert.is(code, 0);
  const sheet = decodePng(await readFile(join(out, 'generated', 'sheet.png')), 'sheet.png', 3);
  assert.ok(sheet.width > 300 && sheet.height > 300, `sheet ${sheet.width}×${sheet.height}`);
  const perK = (await readFile(join(out, 'metrics', 'per_k.csv'), 'utf8')).trim().split('\n');
  assert.ok(perK[0]!.startsWith('k,samples'), perK[0]);
  const ks = perK.slice(1).map((r) => Number(r.split(',')[0]));
  assert.ok(ks.length >= 4 && ks.every((k) => k >= 1 && k <= 6), `K values ${ks}`);
  const heat = decodePng(await readFile(join(out, 'generated', 'heatmaps.png')), 'heatmaps.png', 3);
  assert.ok(heat.width > 100);
});

test.run();
