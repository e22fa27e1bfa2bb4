import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { encodePng } from '../../core/image/png.ts';
import { artifacts, clickPreview, documentOf, dropFile, openFromMenu, root, startEditor, type EditorHarness } from './harness.ts';

declare const window: any;
declare const document: any;

// Issue 17, item 11 (and 8): the graph rides in the PNGs core/SaveImage writes and comes back by
// dropping the image on the canvas; the Runs panel lists every run live (also in a tab showing
// another graph), reopens a past run's graph with its results, and shows killed runs as interrupted.

let h: EditorHarness;

const picture = {
  format: 'tessera-graph',
  version: 1,
  name: 'picture',
  seed: 11,
  nodes: {
    load: { type: 'core/LoadImage', params: { path: 'in.png' } },
    save: { type: 'core/SaveImage', params: { filename: 'out.png' }, inputs: { image: { node: 'load', output: 'image' } } },
  },
  ui: { nodes: { load: { pos: [100, 100] }, save: { pos: [450, 100] } } },
};

/** Runs the real CLI on the demo and kills it mid-run: its record says "running" with a dead pid. */
function killedCliRun(out: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'bin/tessera.mjs'), 'run', 'graphs/demo.json', '--set', 'count.intervalMs=200', '--out', out], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
    child.stdout.on('data', (d) => {
      if (String(d).includes('count: 2/20')) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', () => resolve());
  });
}

test.before(async () => {
  h = await startEditor({ 'picture.json': picture, 'demo.json': join(root, 'graphs/demo.json') }, {
    before: async (ws) => {
      const gradient = { width: 8, height: 6, channels: 3 as const, data: Uint8Array.from({ length: 8 * 6 * 3 }, (_, i) => (i * 7) % 256) };
      writeFileSync(join(ws, 'in.png'), encodePng(gradient));
      mkdirSync(join(ws, 'runs'), { recursive: true });
      await killedCliRun(join(ws, 'runs', 'cli-killed'));
    },
  });
});
test.after(async () => {
  await h?.close();
});

let runId: string;
let page: Page;

test('a PNG saved by a run carries its graph; dropping it on the canvas opens that graph', async () => {
  page = await h.open('?graph=picture.json');
  await page.click('#btn-run');
  await page.waitForSelector('body[data-run-status=done]', { timeout: 15_000 });
  runId = await page.evaluate(() => window.tessera.runId);
  const png = Buffer.from(await (await fetch(`${h.server.url}api/runs/${runId}/files/out.png`)).arrayBuffer());
  const fresh = await h.open();
  assert.is(await fresh.evaluate(() => window.tessera.nodes.length), 0);
  await dropFile(fresh, 'out.png', png, 'image/png');
  await fresh.waitForFunction(() => window.tessera.nodes.length === 2, undefined, { timeout: 5000 });
  assert.equal(await documentOf(fresh), picture, 'the graph as run, layout and seed included');
  assert.match((await fresh.textContent('#status')) ?? '', /opened the graph embedded in out.png/);
  assert.is(await fresh.evaluate(() => window.tessera.fileName), 'out.json');
  // A PNG without a graph is refused with a message, and the canvas keeps its graph.
  await dropFile(fresh, 'plain.png', encodePng({ width: 1, height: 1, channels: 1, data: Uint8Array.from([9]) }), 'image/png');
  await fresh.waitForFunction(() => /carries no tessera graph/.test(document.getElementById('status').textContent), undefined, { timeout: 3000 });
  assert.is(await fresh.evaluate(() => window.tessera.nodes.length), 2);
  await fresh.close();
});

test('a tab showing another graph sees a run in the Runs panel, live, to its end', async () => {
  const other = await h.open('?graph=picture.json');
  await other.click('#btn-runs');
  await other.waitForSelector(`.run-row[data-run-id="${runId}"]`, { timeout: 5000 });
  await openFromMenu(page, 'demo.json');
  await page.click('#btn-run');
  await page.waitForFunction(() => window.tessera.runId && window.tessera.phase === 'running', undefined, { timeout: 10_000 });
  const demoRun = await page.evaluate(() => window.tessera.runId);
  await other.waitForSelector(`.run-row[data-run-id="${demoRun}"][data-status=running]`, { timeout: 5000 });
  assert.match((await other.textContent(`.run-row[data-run-id="${demoRun}"]`)) ?? '', /demo\.json/);
  await other.screenshot({ path: join(artifacts, 'history-1-live-panel.png') });
  await other.waitForSelector(`.run-row[data-run-id="${demoRun}"][data-status=done]`, { timeout: 20_000 });
  assert.is(await other.evaluate(() => window.tessera.path), 'picture.json', 'the other tab kept its graph');
  await other.close();
});

test("the Runs panel reopens a past run's graph with its results", async () => {
  await page.click('#btn-new');
  await page.click('#btn-runs');
  await page.click(`.run-row[data-run-id="${runId}"] .run-open`);
  await page.waitForFunction((id) => window.tessera.runId === id && document.body.dataset.runStatus === 'done', runId, { timeout: 5000 });
  assert.equal(await documentOf(page), picture);
  const states = await page.evaluate(() => window.tessera.nodes.map((n: any) => [n.tid, n.run?.state, typeof n.run?.durationMs]));
  assert.equal(states, [['load', 'done', 'number'], ['save', 'done', 'number']]);
  assert.is(await page.evaluate(() => document.body.dataset.runStatus), 'done');
  assert.match((await page.textContent('#status')) ?? '', new RegExp(`run ${runId} of .*: done in`));
  // The image previews come back from the run's preview files.
  await page.waitForFunction(() => window.tessera.nodeById('save').run?.preview?.image?.complete, undefined, { timeout: 5000 });
  const preview = await page.evaluate(() => {
    const img = window.tessera.nodeById('save').run.preview.image;
    return [img.naturalWidth, img.naturalHeight];
  });
  assert.equal(preview, [8, 6]);
  await page.screenshot({ path: join(artifacts, 'history-2-reopened.png') });
});

test('a run whose process died reads "interrupted" in the panel and when reopened', async () => {
  await page.click('#btn-runs');
  await page.waitForSelector('.run-row[data-run-id="cli-killed"]', { timeout: 5000 });
  assert.is(await page.getAttribute('.run-row[data-run-id="cli-killed"]', 'data-status'), 'interrupted');
  assert.is(await page.textContent('.run-row[data-run-id="cli-killed"] .st-interrupted'), 'interrupted');
  await page.screenshot({ path: join(artifacts, 'history-3-interrupted.png') });
  await page.click('.run-row[data-run-id="cli-killed"] .run-open');
  await page.waitForSelector('body[data-run-status=interrupted]', { timeout: 5000 });
  assert.is(await page.evaluate(() => window.tessera.runId), 'cli-killed');
  assert.match((await page.textContent('#status')) ?? '', /interrupted/);
  // It stopped while counting: the counter had started, the end of the graph never ran.
  const [count, print] = await page.evaluate(() => ['count', 'print'].map((id) => window.tessera.nodeById(id).run));
  assert.equal([count.state, count.message], ['skipped', 'interrupted']);
  assert.ok(print?.state !== 'done', JSON.stringify(print));
  assert.equal(h.pageErrors, []);
});

const batch = {
  format: 'tessera-graph',
  version: 1,
  name: 'batch',
  nodes: {
    a: { type: 'servertest/Gradient', params: { width: 64, height: 48 } },
    b: { type: 'servertest/Gradient', params: { width: 32, height: 16 } },
    c: { type: 'servertest/Gradient', params: { width: 20, height: 20 } },
    list: { type: 'servertest/Batch', inputs: { images: [{ node: 'a', output: 'image' }, { node: 'b', output: 'image' }, { node: 'c', output: 'image' }] } },
  },
  ui: { nodes: { a: { pos: [60, 60] }, b: { pos: [60, 260] }, c: { pos: [60, 460] }, list: { pos: [420, 200] } } },
};

test('a list preview enlarges into a gallery: the arrows step through its images', async () => {
  writeFileSync(join(h.workspace, 'graphs/batch.json'), JSON.stringify(batch));
  await openFromMenu(page, 'batch.json');
  await page.click('#btn-run');
  await page.waitForSelector('body[data-run-status=done]', { timeout: 15_000 });
  await page.waitForFunction(() => window.tessera.nodeById('list').run?.preview?.items?.length === 3, undefined, { timeout: 5000 });
  await clickPreview(page, 'list');
  await page.waitForSelector('#lightbox img', { timeout: 2000 });
  const shown = () => page.evaluate(async () => {
    const img = document.querySelector('#lightbox img');
    await img.decode();
    return [document.getElementById('lightbox').dataset.index, img.naturalWidth, img.naturalHeight, document.querySelector('#lightbox .caption').textContent];
  });
  const first = await shown();
  assert.equal(first.slice(0, 3), ['0', 64, 48]);
  assert.match(first[3], /list of 3\).*1 of 3/);
  await page.keyboard.press('ArrowRight');
  assert.equal((await shown()).slice(0, 3), ['1', 32, 16]);
  await page.click('#lightbox .lb-next');
  assert.equal((await shown()).slice(0, 3), ['2', 20, 20]);
  await page.screenshot({ path: join(artifacts, 'history-4-gallery.png') });
  await page.keyboard.press('ArrowRight');
  assert.equal((await shown()).slice(0, 3), ['0', 64, 48], 'wraps around');
  await page.click('#lightbox .lb-prev');
  assert.equal((await shown()).slice(0, 3), ['2', 20, 20]);
  await page.keyboard.press('Escape');
  assert.is(await page.$('#lightbox'), null);
  assert.equal(h.pageErrors, []);
});

test.run();
