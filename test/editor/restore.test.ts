import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { clickWidget, documentOf, openFromMenu, root, startEditor, waitReady, type EditorHarness } from './harness.ts';

declare const window: any;

// A reload comes back to the same graph: the URL names the workspace graph (?graph=), and the
// working document (unsaved edits included) is autosaved to localStorage after every edit.

let h: EditorHarness;
let page: Page;

test.before(async () => {
  h = await startEditor({ 'demo.json': join(root, 'graphs/demo.json') });
  page = await h.open();
});
test.after(async () => {
  await h?.close();
});

const reload = async () => {
  await page.reload();
  await waitReady(page);
};

test('a graph opened from the workspace is named in the URL, and a reload reopens it with its unsaved edits', async () => {
  await openFromMenu(page, 'demo.json');
  assert.is(new URL(page.url()).searchParams.get('graph'), 'demo.json');
  await clickWidget(page, 'draw', 'max', 'right');
  const edited = await documentOf(page);
  assert.is(edited.nodes.draw.params.max, 101);
  await reload();
  assert.equal(await documentOf(page), edited);
  assert.is(await page.evaluate(() => window.tessera.path), 'demo.json');
  assert.is(await page.evaluate(() => window.tessera.dirty), true);
  assert.match((await page.textContent('#graph-name')) ?? '', /● graphs\/demo\.json/);
  assert.match((await page.textContent('#status')) ?? '', /unsaved changes/);
  // The file on disk was not touched; undo goes back to it.
  await page.keyboard.press('Control+z');
  assert.is((await documentOf(page)).nodes.draw.params.max, 100);
  assert.is(await page.evaluate(() => window.tessera.dirty), false);
});

test('an untitled graph built on the canvas survives a reload', async () => {
  await page.click('#btn-new');
  assert.is(new URL(page.url()).searchParams.get('graph'), null, 'a new graph is not a workspace file');
  await page.click('.palette-item[data-type="core/Number"]');
  await page.click('.palette-item[data-type="core/Print"]');
  await page.evaluate(() => {
    const ed = window.tessera;
    ed.nodeById('number').connect(0, ed.nodeById('print'), 0);
  });
  await page.waitForFunction(() => window.tessera.canUndo, undefined, { timeout: 2000 });
  await page.waitForTimeout(50);
  const built = await documentOf(page);
  assert.equal(Object.keys(built.nodes), ['number', 'print']);
  await reload();
  assert.equal(await documentOf(page), built);
  assert.is(await page.evaluate(() => window.tessera.path), undefined);
});

test('?graph= in the URL wins over the autosave of another graph; a bad autosave is ignored', async () => {
  await page.goto(`${h.server.url}?graph=demo.json`);
  await waitReady(page);
  assert.is(await page.evaluate(() => window.tessera.path), 'demo.json');
  assert.is(await page.evaluate(() => window.tessera.dirty), false);
  await page.evaluate(() => window.localStorage.setItem('tessera.autosave.v1', '{"base": 1}'));
  await page.goto(h.server.url);
  await waitReady(page);
  assert.equal(await page.evaluate(() => window.tessera.nodes.length), 0);
  assert.equal(h.pageErrors, []);
});

test.run();
