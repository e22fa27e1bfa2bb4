import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { artifacts, clickWidget, documentOf, dragLink, startEditor, toPage, type EditorHarness } from './harness.ts';

declare const window: any;

// Undo/redo as a person uses it: palette clicks, mouse-drawn links, widget clicks, the Delete key,
// then Ctrl+Z, Ctrl+Shift+Z and Ctrl+Y.

let h: EditorHarness;
let page: Page;

test.before(async () => {
  h = await startEditor();
  page = await h.open();
});
test.after(async () => {
  await h?.close();
});

const ids = async () => Object.keys((await documentOf(page)).nodes);
const press = async (keys: string) => {
  await page.keyboard.press(keys);
  await page.waitForTimeout(20);
};

test('undo and redo step through add, link, param change and delete', async () => {
  await page.click('#btn-new');
  assert.is(await page.isEnabled('#btn-undo'), false, 'nothing to undo in a new graph');
  // Add two nodes from the palette (a click adds in the middle of the view); move one aside.
  await page.fill('#palette-search', 'number');
  await page.click('.palette-item[data-type="core/Number"]');
  await page.fill('#palette-search', 'math');
  await page.click('.palette-item[data-type="core/Math"]');
  await page.fill('#palette-search', '');
  await page.evaluate(() => {
    const ed = window.tessera;
    ed.nodeById('number').pos = [0, 0];
    ed.nodeById('math').pos = [360, 0];
    ed.canvas.ds.offset = [80, 80];
    ed.canvas.ds.scale = 1;
    ed.canvas.setDirty(true, true);
    ed.commit();
  });
  assert.equal(await ids(), ['number', 'math']);
  const added = await documentOf(page);
  await dragLink(page, 'number', 0, 'math', 0);
  const linked = await documentOf(page);
  assert.equal(linked.nodes.math.inputs, { a: { node: 'number', output: 'value' } });
  await clickWidget(page, 'number', 'value', 'right');
  const stepped = await documentOf(page);
  assert.is(stepped.nodes.number.params.value, 1);
  // Select the Math node by clicking its title, then delete it with the keyboard.
  const title = await toPage(page, [420, -15]);
  await page.mouse.click(title[0], title[1]);
  await press('Delete');
  assert.equal(await ids(), ['number']);
  await page.screenshot({ path: join(artifacts, 'undo-1-deleted.png') });

  await press('Control+z');
  assert.equal(await documentOf(page), stepped, 'undo delete: the node and its link are back');
  await press('Control+z');
  assert.equal(await documentOf(page), linked, 'undo param change');
  await press('Control+z');
  assert.equal(await documentOf(page), added, 'undo link');
  await press('Control+z');
  assert.equal(await ids(), ['number', 'math'], 'undo the move (a step of its own)');
  assert.not.equal(await documentOf(page), added);
  await press('Control+z');
  assert.equal(await ids(), ['number'], 'undo add');
  await press('Control+Shift+z');
  await press('Control+Shift+z');
  assert.equal(await documentOf(page), added, 'redo add and move (Ctrl+Shift+Z)');
  await press('Control+y');
  assert.equal(await documentOf(page), linked, 'redo link (Ctrl+Y)');
  await press('Control+y');
  assert.equal(await documentOf(page), stepped, 'redo param change');
  await press('Control+y');
  assert.equal(await ids(), ['number'], 'redo delete');
  assert.is(await page.isEnabled('#btn-redo'), false);
  // The toolbar buttons do the same.
  await page.click('#btn-undo');
  assert.equal(await documentOf(page), stepped);
  // A new edit after undo drops the redo steps.
  await clickWidget(page, 'number', 'value', 'right');
  assert.is((await documentOf(page)).nodes.number.params.value, 2);
  await page.waitForFunction(() => !window.tessera.canRedo, undefined, { timeout: 2000 });
  assert.equal(h.pageErrors, []);
});

test('Ctrl+Z in a text field undoes the typing there, not the graph', async () => {
  const before = await documentOf(page);
  await page.fill('#seed-input', '');
  await page.click('#seed-input');
  await page.keyboard.type('42');
  await press('Control+z');
  assert.equal(await documentOf(page), before, 'the graph is unchanged');
  await page.fill('#seed-input', '');
});

test('undoing back to the saved file clears the modified mark', async () => {
  await page.click('#btn-new');
  await page.click('.palette-item[data-type="core/Number"]');
  await page.waitForFunction(() => window.tessera.dirty, undefined, { timeout: 2000 });
  await press('Control+z');
  assert.is(await page.evaluate(() => window.tessera.dirty), false);
  assert.equal(await ids(), []);
});

test.run();
