import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { artifacts, openFromMenu, clickPreview, overlappingNodes, root, startEditor, type EditorHarness } from './harness.ts';
import { perKTable } from '../../ui/src/tableView.ts';

declare const window: any;
declare const document: any;

// Results read on the canvas: graphs/mosaic-generate.json (shrunk to seconds) runs, its metrics
// node shows the per-K table, and a click on the contact sheet enlarges it.

let h: EditorHarness;
let page: Page;

test.before(async () => {
  h = await startEditor({ 'mosaic-generate.json': join(root, 'graphs/mosaic-generate.json') }, { checkpoint: true });
  page = await h.open();
});
test.after(async () => {
  await h?.close();
});

test('perKTable: one row per measure, one column per K; other values are no table', () => {
  const t = perKTable([
    { k: 1, samples: 2, chance: 1, means: { identityPsnr: 12.3456, colorLeak: null }, confusion: [[1]] },
    { k: 2, samples: 2, chance: 0.5, means: { identityPsnr: 11, colorLeak: null }, confusion: [[1, 0], [0, 1]] },
  ]);
  assert.equal(t, { columns: ['K=1', 'K=2'], rows: [{ label: 'samples', cells: ['2', '2'] }, { label: 'chance', cells: ['1', '0.500'] }, { label: 'identityPsnr', cells: ['12.3', '11'] }] });
  assert.is(perKTable([{ x: 1 }]), undefined);
  assert.is(perKTable('text'), undefined);
  assert.is(perKTable([]), undefined);
  assert.is(perKTable([{ k: 1, a: 1 }, { k: 1, a: 2 }]), undefined, 'per-sample rows repeat k');
});

test('a run of mosaic-generate: the metrics node draws its per-K table, the contact sheet enlarges on click', async () => {
  await openFromMenu(page, 'mosaic-generate.json');
  await page.evaluate(() => {
    const t = window.tessera;
    t.nodeById('testData').setParam('test', 6);
    t.nodeById('sample').setParam('steps', 2);
  });
  await page.click('#btn-run');
  await page.waitForFunction(() => ['done', 'failed', 'cancelled', 'invalid'].includes(document.body.dataset.runStatus ?? ''), undefined, { timeout: 60_000 });
  assert.is(await page.evaluate(() => document.body.dataset.runStatus), 'done', (await page.textContent('#status')) ?? '');
  const table = await page.evaluate(() => window.tessera.nodeById('metrics').run.table);
  assert.ok(table, 'the metrics node has a table');
  // Six test samples cover some of K = 1..6, one column each, in order.
  assert.ok(table.columns.length >= 2 && table.columns.every((c: string) => /^K=[1-6]$/.test(c)), table.columns.join(' '));
  assert.equal([...table.columns].sort(), table.columns);
  const labels = table.rows.map((r: { label: string }) => r.label);
  for (const l of ['samples', 'identityPsnr', 'retrievalAcc']) assert.ok(labels.includes(l), `${l} in ${labels.join(', ')}`);
  // The node grew to show the table, without covering a neighbour.
  const size = await page.evaluate(() => window.tessera.nodeById('metrics').size[1]);
  assert.ok(size > 300, `metrics node height ${size}`);
  assert.equal(await overlappingNodes(page), []);
  await page.waitForTimeout(100);
  await page.screenshot({ path: join(artifacts, 'results-1-metrics-table.png') });

  // Click the middle of the sample node's image preview.
  await clickPreview(page, 'sample');
  await page.waitForSelector('#lightbox img', { timeout: 2000 });
  const shown = await page.evaluate(() => {
    const img = document.querySelector('#lightbox img');
    return { w: img.getBoundingClientRect().width, natural: img.naturalWidth, src: img.src === window.tessera.nodeById('sample').run.preview.src };
  });
  assert.ok(shown.src, 'the preview image itself');
  assert.ok(shown.w > 500, `shown ${shown.w} px wide (the node shows it at ~200)`);
  await page.screenshot({ path: join(artifacts, 'results-2-enlarged.png') });
  await page.keyboard.press('Escape');
  assert.is(await page.$('#lightbox'), null);
  assert.equal(h.pageErrors, []);
});

test.run();
