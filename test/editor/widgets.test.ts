import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { artifacts, clickWidget, documentOf, openFromMenu, root, startEditor, toPage, type EditorHarness } from './harness.ts';

declare const window: any;

// Param widgets tell the truth: an override the file leaves out reads "unset" (not its minimum)
// and can be taken out again; a typed number outside the schema is refused with a message.

let h: EditorHarness;
let page: Page;
const file = JSON.parse(readFileSync(join(root, 'graphs/mosaic-generate.json'), 'utf8'));

test.before(async () => {
  h = await startEditor({ 'mosaic-generate.json': join(root, 'graphs/mosaic-generate.json') });
  page = await h.open();
  await openFromMenu(page, 'mosaic-generate.json');
});
test.after(async () => {
  await h?.close();
});

const shown = (node: string, widget: string) => page.evaluate(([n, w]) => window.tessera.nodeById(n).widgets.find((x: any) => x.name === w)._displayValue, [node, widget] as const);

test('optional overrides without a default read "unset"; the right-click menu unsets a changed one', async () => {
  for (const w of ['width', 'depth', 'heads', 'loraRank', 'maxRefs', 'refAttention']) assert.is(await shown('model', w), 'unset', w);
  assert.is(await shown('model', 'preset'), file.nodes.model.params.preset, 'a value written in the file shows as written');
  await clickWidget(page, 'model', 'depth', 'right');
  const set = (await documentOf(page)).nodes.model.params;
  assert.type(set.depth, 'number');
  assert.is.not(await shown('model', 'depth'), 'unset');
  await page.screenshot({ path: join(artifacts, 'widgets-1-depth-set.png') });
  // Right-click the node's title, then pick "Unset depth" in litegraph's menu.
  const [x, y] = await page.evaluate(() => {
    const n = window.tessera.nodeById('model');
    return [n.pos[0] + 60, n.pos[1] - 15];
  });
  const at = await toPage(page, [x, y]);
  await page.mouse.click(at[0], at[1], { button: 'right' });
  await page.click('.litecontextmenu .litemenu-entry:has-text("Unset depth")');
  assert.equal((await documentOf(page)).nodes.model.params, file.nodes.model.params);
  assert.is(await shown('model', 'depth'), 'unset');
  // dirty is recomputed when the editor commits the change, which can land after the menu click returns.
  const clean = await page.waitForFunction(() => !window.tessera.dirty, undefined, { timeout: 3000 }).then(() => true, () => false);
  assert.ok(clean, 'back to the file as it was');
});

/** Clicks the middle of a number widget and types into litegraph's value prompt. */
async function typeInto(node: string, widget: string, text: string): Promise<void> {
  await clickWidget(page, node, widget, 'middle');
  await page.waitForSelector('.graphdialog input', { timeout: 2000 });
  await page.fill('.graphdialog input', text);
  await page.keyboard.press('Enter');
  await page.waitForTimeout(30);
}

test('number widgets refuse typed values outside the schema with a visible message', async () => {
  const before = await documentOf(page);
  await typeInto('testData', 'refScale', '7');
  assert.match((await page.textContent('#status')) ?? '', /refScale must be at most 1 \(got 7\)/);
  assert.is(await page.evaluate(() => window.tessera.nodeById('testData').refusal), 'refScale must be at most 1 (got 7)');
  assert.equal(await documentOf(page), before, 'nothing changed');
  await page.screenshot({ path: join(artifacts, 'widgets-2-refused.png') });
  await typeInto('testData', 'test', '-5');
  assert.match((await page.textContent('#status')) ?? '', /test must be at least 0 \(got -5\)/);
  await typeInto('testData', 'test', '2.5');
  assert.match((await page.textContent('#status')) ?? '', /test must be a whole number/);
  await typeInto('testData', 'refScale', 'abc');
  assert.match((await page.textContent('#status')) ?? '', /not a number/);
  assert.equal(await documentOf(page), before, 'nothing changed');
  // A good value is taken as typed, and the message under the node goes away.
  await typeInto('testData', 'refScale', '0.75');
  assert.is((await documentOf(page)).nodes.testData.params.refScale, 0.75);
  assert.is(await page.evaluate(() => window.tessera.nodeById('testData').refusal), undefined);
  assert.equal(h.pageErrors, []);
});

test.run();
