import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { call } from '../server/helpers.ts';
import { sweepGraph } from '../scaleout/sweepSupport.ts';
import { artifacts, startEditor, type EditorHarness } from './harness.ts';

declare const window: any;
declare const document: any;

// The Sweeps menu in real Chromium: a sweep submitted through the API shows up live, its counts
// reach done, its table lists every run with its outputs and opens them; the dialog submits the
// open graph as a sweep, and shows the server's refusal with pointers.

let h: EditorHarness;

test.before(async () => {
  h = await startEditor({ 'sweep.json': sweepGraph(300, 3) });
});
test.after(async () => {
  await h?.close().catch(() => undefined);
});

test('a sweep submitted through the API shows live counts that reach done, and a table whose rows open their runs', async () => {
  const page = await h.open('?graph=sweep.json');
  await page.click('#btn-sweeps');
  await page.waitForSelector('#sweeps-menu .empty');
  const posted = await call(h.server.url, 'POST', '/api/sweeps', { body: { graph: sweepGraph(300, 3), grid: [{ node: 'b', param: 'value', values: [1, 2] }], seeds: [0, 1], label: 'api sweep' } });
  assert.is(posted.status, 202, posted.text);
  const id = posted.json.sweep.id;
  const row = `.sweep-row[data-sweep-id="${id}"]`;
  // Live: seen running with some runs not done yet, then ended with all four done.
  await page.waitForFunction((sel) => {
    const r = document.querySelector(sel);
    return r && r.dataset.state === 'running' && (JSON.parse(r.dataset.counts).done ?? 0) < 4;
  }, row, { timeout: 10_000 });
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.state === 'ended', row, { timeout: 20_000 });
  assert.equal(JSON.parse((await page.getAttribute(row, 'data-counts'))!), { done: 4 });
  assert.match((await page.textContent(row)) ?? '', /api sweep.*b\.value × 2 seeds.*4 done of 4/);
  await page.click(row);
  await page.waitForSelector(`.sweep-detail[data-sweep-id="${id}"] tbody tr`);
  const cells = await page.$$eval(`.sweep-detail[data-sweep-id="${id}"] tbody tr`, (trs: any[]) => trs.map((tr) => [...tr.children].map((td: any) => td.textContent)));
  const heads = await page.$$eval(`.sweep-detail[data-sweep-id="${id}"] th`, (ths: any[]) => ths.map((th) => th.textContent));
  assert.equal(heads, ['#', 'b.value', 'seed', 'status', 'sum.sum', 'run']);
  const { table } = (await call(h.server.url, 'GET', `/api/sweeps/${id}`)).json;
  assert.equal(cells.map((c: string[]) => c.slice(0, 4)), table.rows.map((r: any) => [String(r.index), String(r.params[0].value), String(r.seed), 'done']));
  assert.equal(cells.map((c: string[]) => Number(c[4])), table.rows.map((r: any) => Number(r.outputs['sum.sum'].toPrecision(5))));
  await page.screenshot({ path: join(artifacts, 'sweeps-1-table.png') });
  // A row opens its run.
  await page.click(`.sweep-detail[data-sweep-id="${id}"] tbody tr:nth-child(3) .sweep-open-run`);
  await page.waitForFunction((runId) => window.tessera.runId === runId, table.rows[2].runId, { timeout: 10_000 });
  assert.equal(h.pageErrors, []);
});

test('the dialog submits the open graph as one sweep, and shows the server\'s refusal with pointers', async () => {
  const page = await h.open('?graph=sweep.json');
  await page.click('#btn-sweeps');
  await page.click('.sweep-new');
  await page.waitForSelector('#sweep-dialog:not([hidden])');
  // A line the dialog cannot read, then one the server refuses.
  await page.fill('#sweep-grid', 'nonsense');
  await page.click('#sweep-submit');
  assert.match((await page.textContent('#sweep-problems')) ?? '', /line 1: expects node\.param=a,b,c/);
  await page.fill('#sweep-grid', 'zz.value=1\nb.value=1');
  await page.click('#sweep-submit');
  await page.waitForFunction(() => /\/grid\/0\/node: grid\[0\] "zz\.value": no node "zz"/.test(document.querySelector('#sweep-problems').textContent));
  const before = (await call(h.server.url, 'GET', '/api/sweeps')).json.sweeps.length;
  await page.fill('#sweep-grid', 'b.value=3,4\n');
  await page.fill('#sweep-seeds', '7');
  await page.screenshot({ path: join(artifacts, 'sweeps-2-dialog.png') });
  await page.click('#sweep-submit');
  await page.waitForSelector('#sweep-dialog', { state: 'hidden' });
  const sweeps = (await call(h.server.url, 'GET', '/api/sweeps')).json.sweeps;
  assert.is(sweeps.length, before + 1);
  const mine = sweeps[0];
  assert.is(mine.label, 'sweep.json');
  assert.is(mine.total, 2);
  assert.equal(mine.seeds, [7]);
  // The editor's own document was submitted: the table's rows are the cells of that graph.
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.state === 'ended', `.sweep-row[data-sweep-id="${mine.id}"]`, { timeout: 20_000 });
  const { table } = (await call(h.server.url, 'GET', `/api/sweeps/${mine.id}`)).json;
  assert.equal(table.rows.map((r: any) => [r.params[0].value, r.seed, r.status]), [[3, 7, 'done'], [4, 7, 'done']]);
  assert.match((await page.textContent('#status')) ?? '', /sweep .* submitted: 2 runs/);
  await page.screenshot({ path: join(artifacts, 'sweeps-3-list.png') });
  assert.equal(h.pageErrors, []);
});

test.run();
