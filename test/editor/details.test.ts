import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { artifacts, documentOf, dragLink, openFromMenu, root, startEditor, toPage, type EditorHarness } from './harness.ts';

declare const window: any;
declare const document: any;

// Issue 17, items 4 and 9: descriptions on hover, no "Convert to Subgraph", a long message that
// keeps the toolbar on one line, refused links explained, a link dropped on empty canvas opening
// a search of the nodes that take it, the graph's own seed, several queued runs per tab.

let h: EditorHarness;
let page: Page;

const small = { format: 'tessera-graph', version: 1, name: 'small', nodes: { n: { type: 'core/Number', params: { value: 2 } }, p: { type: 'core/Print', inputs: { value: { node: 'n', output: 'value' } } } }, ui: { nodes: { n: { pos: [100, 100] }, p: { pos: [400, 100] } } } };

test.before(async () => {
  h = await startEditor({ 'demo.json': join(root, 'graphs/demo.json'), 'small.json': small });
  page = await h.open();
});
test.after(async () => {
  await h?.close();
});

/** Adds a node by a palette click and moves it to a canvas position. */
async function place(type: string, pos: [number, number]): Promise<string> {
  await page.click(`.palette-item[data-type="${type}"]`);
  return page.evaluate(([t, p]) => {
    const nodes = window.tessera.nodes.filter((n: any) => n.def.type === t);
    const node = nodes[nodes.length - 1];
    node.pos = p;
    window.tessera.canvas.setDirty(true, true);
    return node.tid;
  }, [type, pos] as const);
}

/** Moves the mouse over a canvas point and returns the tooltip shown there. */
async function hover(at: [number, number]): Promise<string> {
  const [x, y] = await toPage(page, at);
  await page.mouse.move(x - 30, y - 30);
  await page.mouse.move(x, y, { steps: 3 });
  await page.waitForSelector('#tooltip:not([hidden])', { timeout: 3000 });
  return (await page.textContent('#tooltip')) ?? '';
}

test('hovering a title, a port or a widget shows its description', async () => {
  await page.click('#btn-new');
  await page.evaluate(() => {
    window.tessera.canvas.ds.offset = [0, 0];
    window.tessera.canvas.ds.scale = 1;
  });
  const math = await place('core/Math', [300, 200]);
  const load = await place('core/LoadImage', [300, 420]);
  await page.waitForTimeout(100); // drawn once, so widgets know where they are
  const title = await page.evaluate((id) => {
    const n = window.tessera.nodeById(id);
    return [n.pos[0] + 40, n.pos[1] - 15];
  }, math);
  const titleText = await hover(title as [number, number]);
  assert.ok(titleText.startsWith("Math  (core/Math)"), titleText);
  assert.match(titleText, /binary arithmetic operation/);
  const portA = await page.evaluate((id) => window.tessera.nodeById(id).getConnectionPos(true, 0), math);
  assert.match(await hover(portA), /^input a: NUMBER/);
  const portB = await page.evaluate((id) => window.tessera.nodeById(id).getConnectionPos(true, 1), math);
  assert.match(await hover(portB), /^input b: NUMBER \(optional\)/);
  const out = await page.evaluate((id) => window.tessera.nodeById(id).getConnectionPos(false, 0), math);
  assert.match(await hover(out), /^output result: NUMBER/);
  const widget = await page.evaluate((id) => {
    const n = window.tessera.nodeById(id);
    const w = n.widgets.find((x: any) => x.name === 'path');
    return [n.pos[0] + n.size[0] / 2, n.pos[1] + w.last_y + 8];
  }, load);
  const pathText = await hover(widget as [number, number]);
  assert.match(pathText, /^path: string, no default/);
  assert.match(pathText, /PNG file, relative to the workspace root/);
  await page.screenshot({ path: join(artifacts, 'details-1-tooltip.png') });
  // Away from everything: hidden.
  const [x, y] = await toPage(page, [900, 50]);
  await page.mouse.move(x, y, { steps: 3 });
  await page.waitForSelector('#tooltip', { state: 'hidden', timeout: 2000 });
});

test('no "Convert to Subgraph" in the node or canvas menus', async () => {
  const math = await page.evaluate(() => window.tessera.nodes.find((n: any) => n.def.type === 'core/Math').tid);
  const at = await page.evaluate((id) => {
    const n = window.tessera.nodeById(id);
    return [n.pos[0] + 40, n.pos[1] - 15];
  }, math);
  const [x, y] = await toPage(page, at as [number, number]);
  await page.mouse.click(x, y, { button: 'right' });
  await page.waitForSelector('.litecontextmenu', { timeout: 3000 });
  const entries = await page.$$eval('.litecontextmenu .litemenu-entry', (els) => els.map((e: any) => e.textContent));
  assert.ok(entries.length > 3, JSON.stringify(entries));
  assert.not.ok(entries.some((e: string) => /Subgraph/.test(e)), JSON.stringify(entries));
  await page.keyboard.press('Escape');
  await page.mouse.click(x + 500, y + 300);
  // The canvas menu with two nodes selected (where litegraph offered it too).
  await page.keyboard.press('Control+a');
  const [cx, cy] = await toPage(page, [900, 650]);
  await page.mouse.click(cx, cy, { button: 'right' });
  await page.waitForSelector('.litecontextmenu', { timeout: 3000 });
  const canvasEntries = await page.$$eval('.litecontextmenu .litemenu-entry', (els) => els.map((e: any) => e.textContent));
  assert.not.ok(canvasEntries.some((e: string) => /Subgraph/.test(e)), JSON.stringify(canvasEntries));
  await page.mouse.click(cx + 50, cy - 300);
  await page.waitForSelector('.litecontextmenu', { state: 'detached', timeout: 3000 }).catch(() => undefined);
  assert.is(await page.evaluate(() => window.tessera.nodes.length), 2, 'nothing deleted');
});

test('a long message keeps the toolbar on one line; the full text on hover and click', async () => {
  const height = () => page.evaluate(() => document.getElementById('toolbar').getBoundingClientRect().height);
  const before = await height();
  const long = `failed: model: ${'checkpoint config mismatch in layer '.repeat(12)}end`;
  await page.evaluate((m) => window.tessera.onMessage(m, 'error'), long);
  assert.is(await height(), before);
  assert.is(await page.getAttribute('#status', 'title'), long);
  const box = await page.evaluate(() => {
    const s = document.getElementById('status');
    return [s.scrollWidth > s.clientWidth, s.getBoundingClientRect().right <= window.innerWidth];
  });
  assert.equal(box, [true, true], 'cut with an ellipsis, inside the window');
  await page.click('#status');
  assert.is(await page.textContent('#status-full'), long);
  await page.screenshot({ path: join(artifacts, 'details-2-long-message.png') });
  await page.click('#canvas', { position: { x: 900, y: 700 } });
  assert.is(await page.$('#status-full'), null);
});

test('an incompatible link is refused with a message', async () => {
  await page.click('#btn-new');
  const s = await place('core/String', [100, 100]);
  const m = await place('core/Math', [450, 100]);
  await page.waitForTimeout(100);
  await dragLink(page, s, 0, m, 0);
  await page.waitForFunction(() => /cannot link/.test(document.getElementById('status').textContent), undefined, { timeout: 3000 });
  assert.match((await page.textContent('#status')) ?? '', /cannot link STRING to input a \(NUMBER\): the types do not match/);
  assert.equal((await documentOf(page)).nodes[m].inputs, undefined);
});

test('a link dropped on empty canvas opens a search of the nodes that take it, and connects the pick', async () => {
  await page.click('#btn-new');
  const n = await place('core/Number', [100, 100]);
  await page.waitForTimeout(100);
  const from = await page.evaluate((id) => window.tessera.nodeById(id).getConnectionPos(false, 0), n);
  const [ax, ay] = await toPage(page, from);
  const [bx, by] = await toPage(page, [500, 300]);
  await page.mouse.move(ax, ay);
  await page.mouse.down();
  await page.mouse.move(bx, by, { steps: 8 });
  await page.mouse.up();
  await page.waitForSelector('#node-search', { timeout: 3000 });
  assert.match((await page.textContent('#node-search .heading')) ?? '', /nodes taking NUMBER/);
  const types: string[] = await page.$$eval('#node-search .item', (els) => els.map((e: any) => e.dataset.type));
  assert.ok(types.includes('core/Math') && types.includes('core/Print'), JSON.stringify(types));
  assert.not.ok(types.includes('core/String') || types.includes('core/Number') || types.includes('core/LoadImage'), 'only nodes with an input that takes NUMBER');
  await page.keyboard.type('math');
  await page.screenshot({ path: join(artifacts, 'details-3-link-search.png') });
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => window.tessera.nodes.length === 2, undefined, { timeout: 3000 });
  const doc = await documentOf(page);
  assert.equal(doc.nodes.math, { type: 'core/Math', inputs: { a: { node: n, output: 'value' } } });
  assert.equal(doc.ui.nodes.math.pos, [500, 300]);
  // Esc closes it without adding anything.
  await page.mouse.move(ax, ay);
  await page.mouse.down();
  await page.mouse.move(bx, by + 250, { steps: 8 });
  await page.mouse.up();
  await page.waitForSelector('#node-search', { timeout: 3000 });
  await page.keyboard.press('Escape');
  assert.is(await page.$('#node-search'), null);
  assert.is(await page.evaluate(() => window.tessera.nodes.length), 2);
});

test("one seed field, the graph's own: saved in the file, undoable, not carried to another graph", async () => {
  await openFromMenu(page, 'demo.json');
  assert.is(await page.inputValue('#seed-input'), '42');
  await page.fill('#seed-input', '7');
  await page.press('#seed-input', 'Enter');
  await page.waitForFunction(() => window.tessera.toDocument().seed === 7, undefined, { timeout: 2000 });
  assert.is(await page.evaluate(() => window.tessera.dirty), true);
  await page.click('#btn-undo');
  assert.is((await documentOf(page)).seed, 42);
  assert.is(await page.inputValue('#seed-input'), '42');
  await page.click('#btn-redo');
  assert.is(await page.inputValue('#seed-input'), '7');
  // Bad seeds are refused with a message, the graph's seed stays.
  await page.fill('#seed-input', '-3');
  await page.press('#seed-input', 'Enter');
  assert.match((await page.textContent('#status')) ?? '', /seed must be an integer/);
  assert.is((await documentOf(page)).seed, 7);
  await openFromMenu(page, 'small.json');
  assert.is(await page.inputValue('#seed-input'), '', 'the other graph has no seed');
  assert.is((await documentOf(page)).seed, undefined);
  // One run-seed field, hidden ones included (the sweep dialog's seed *list* is another thing).
  const seedFields = await page.$$eval('input', (els) => els.filter((e: any) => !e.closest('#sweep-dialog') && /seed/i.test(e.id + e.name + e.placeholder)).map((e: any) => e.id));
  assert.equal(seedFields, ['seed-input']);
});

test('several runs queue in one tab; a queued one is cancelled from the Runs panel', async () => {
  await openFromMenu(page, 'demo.json');
  await page.click('#btn-run');
  await page.waitForFunction(() => window.tessera.runId, undefined, { timeout: 5000 });
  const first = await page.evaluate(() => window.tessera.runId);
  await page.click('#btn-run');
  await page.click('#btn-run');
  await page.waitForFunction(() => window.tessera.pending.length === 2, undefined, { timeout: 5000 });
  assert.is(await page.textContent('#queue-info'), '+2 queued');
  const [second, third] = await page.evaluate(() => window.tessera.pending.map((r: any) => r.id));
  await page.click('#queue-info');
  await page.waitForSelector(`.run-row[data-run-id="${third}"] .run-cancel`, { timeout: 5000 });
  await page.screenshot({ path: join(artifacts, 'details-4-queue.png') });
  await page.click(`.run-row[data-run-id="${third}"] .run-cancel`);
  await page.waitForSelector(`.run-row[data-run-id="${third}"][data-status=cancelled]`, { timeout: 5000 });
  await page.waitForFunction(() => window.tessera.pending.length === 1, undefined, { timeout: 5000 });
  await page.click('#canvas', { position: { x: 900, y: 800 } });
  // The second takes the canvas when the first ends, and runs to the end there.
  await page.waitForFunction((id) => window.tessera.runId === id, second, { timeout: 20_000 });
  await page.waitForSelector('body[data-run-status=done]', { timeout: 20_000 });
  assert.is(await page.isHidden('#queue-info'), true);
  const statuses = await page.evaluate(async (ids) => {
    const { runs } = await window.tessera.api.runs();
    return ids.map((id: string) => runs.find((r: any) => r.id === id)?.status);
  }, [first, second, third]);
  assert.equal(statuses, ['done', 'done', 'cancelled']);
  assert.equal(h.pageErrors, []);
});

test.run();
