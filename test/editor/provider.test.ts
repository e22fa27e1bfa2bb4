import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { artifacts, documentOf, openFromMenu, root, startEditor, toPage, waitReady, type EditorHarness } from './harness.ts';

declare const window: any;

// Issue 20 in the editor: the toolbar's provider select edits the graph's `provider`, the node
// menu's "Execution provider" pins a node's, both undoable and written only when set; a file
// with both fields opens and saves byte for byte. Live: a run asking for webgpu on this machine
// (no adapter) falls back to cpu, and the executor's warning shows on the node that opened the session.

let h: EditorHarness;
let page: Page;

const plain = {
  format: 'tessera-graph',
  version: 1,
  name: 'plain',
  nodes: { n: { type: 'core/Number', params: { value: 2 } }, p: { type: 'core/Print', inputs: { value: { node: 'n', output: 'value' } } } },
  ui: { nodes: { n: { pos: [100, 100] }, p: { pos: [420, 100] } } },
};
const both = { ...plain, name: 'both', seed: 5, provider: 'auto', nodes: { ...plain.nodes, n: { type: 'core/Number', provider: 'webgpu', params: { value: 2 } } } };
/** As the server writes a graph (PUT /api/graphs), so an unchanged save is byte-identical. */
const text = (doc: unknown) => JSON.stringify(doc, null, 2) + '\n';

test.before(async () => {
  h = await startEditor({}, {
    before: (ws) => {
      writeFileSync(join(ws, 'graphs/plain.json'), text(plain));
      writeFileSync(join(ws, 'graphs/both.json'), text(both));
      // The smallest graph that opens an ONNX session: one LoRA training step of a tiny imported DiT.
      const finetune = JSON.parse(readFileSync(join(root, 'graphs/import-finetune.json'), 'utf8'));
      finetune.nodes.train.params.steps = 1;
      writeFileSync(join(ws, 'graphs/finetune.json'), text(finetune));
      mkdirSync(join(ws, 'test/fixtures/onnx'), { recursive: true });
      copyFileSync(join(root, 'test/fixtures/onnx/tiny_dit_op17.onnx'), join(ws, 'test/fixtures/onnx/tiny_dit_op17.onnx'));
    },
  });
  page = await h.open();
});
test.after(async () => {
  await h?.close();
});

const fileText = (name: string) => readFileSync(join(h.workspace, 'graphs', name), 'utf8');
const selected = () => page.inputValue('#provider-select');

async function save(): Promise<void> {
  await page.keyboard.press('Control+s');
  await page.waitForFunction(() => !window.tessera.dirty, undefined, { timeout: 5000 });
}

/** Opens a workspace graph that may be on the canvas already: done once its nodes are new ones. */
async function reopen(path: string): Promise<void> {
  await page.evaluate(() => (window.before = window.tessera.nodes[0]));
  await openFromMenu(page, path);
  await page.waitForFunction(() => window.tessera.nodes.length > 0 && !window.tessera.nodes.includes(window.before), undefined, { timeout: 5000 });
}

/** Right-clicks a node's title and picks an entry of its "Execution provider" submenu. */
async function pin(node: string, entry: string): Promise<string[]> {
  const at = await page.evaluate((id) => {
    const n = window.tessera.nodeById(id);
    return [n.pos[0] + 40, n.pos[1] - 15];
  }, node);
  const [x, y] = await toPage(page, at as [number, number]);
  await page.mouse.click(x, y, { button: 'right' });
  await page.click('.litecontextmenu .litemenu-entry:has-text("Execution provider")');
  // The submenu is a second menu, titled like its entry.
  const sub = page.locator('.litecontextmenu', { has: page.locator('.litemenu-title', { hasText: 'Execution provider' }) });
  await sub.waitFor({ timeout: 3000 });
  const entries = await sub.locator('.litemenu-entry').allTextContents();
  await sub.locator('.litemenu-entry', { hasText: new RegExp(`^(● )?${entry}$`) }).click();
  await page.waitForSelector('.litecontextmenu', { state: 'detached', timeout: 3000 });
  return entries;
}

test("the toolbar select sets and clears the graph's provider; undo and redo restore it; the file has it only when set", async () => {
  await openFromMenu(page, 'plain.json');
  assert.is(await selected(), '', 'a file without provider reads "default"');
  await page.selectOption('#provider-select', 'webgpu');
  let doc = await documentOf(page);
  assert.is(doc.provider, 'webgpu');
  assert.equal(Object.keys(doc), ['format', 'version', 'name', 'provider', 'nodes', 'ui'], 'before the nodes, like the seed');
  assert.ok(await page.evaluate(() => window.tessera.dirty));
  await page.selectOption('#provider-select', 'auto');
  assert.is((await documentOf(page)).provider, 'auto');
  await page.selectOption('#provider-select', '');
  doc = await documentOf(page);
  assert.not.ok('provider' in doc, 'default: the field is gone');
  await page.click('#btn-undo');
  assert.is((await documentOf(page)).provider, 'auto');
  assert.is(await selected(), 'auto', 'the select follows undo');
  await page.click('#btn-undo');
  assert.is(await selected(), 'webgpu');
  await page.click('#btn-undo');
  assert.not.ok('provider' in (await documentOf(page)));
  assert.is(await selected(), '');
  assert.not.ok(await page.evaluate(() => window.tessera.dirty), 'back to the file as it was');
  await page.click('#btn-redo');
  assert.is(await selected(), 'webgpu', 'redo');
  await save();
  assert.equal(JSON.parse(fileText('plain.json')), { format: 'tessera-graph', version: 1, name: 'plain', provider: 'webgpu', nodes: plain.nodes, ui: plain.ui });
  await page.selectOption('#provider-select', '');
  await save();
  assert.is(fileText('plain.json'), text(plain), 'cleared again: the file is byte for byte the original');
  assert.equal(h.pageErrors, []);
});

test('the select survives a reload through the autosave', async () => {
  await page.selectOption('#provider-select', 'cpu');
  await page.reload();
  await waitReady(page);
  assert.is(await selected(), 'cpu');
  assert.is((await documentOf(page)).provider, 'cpu');
  assert.ok(await page.evaluate(() => window.tessera.dirty), 'an unsaved change');
  await page.click('#btn-undo');
  assert.is(await selected(), '', 'and its undo step is there');
});

test("the node menu pins a node's provider, marks the current one, and undo removes the pin", async () => {
  await reopen('plain.json');
  const offered = await pin('n', 'webgpu');
  assert.equal(offered, ['● default', 'cpu', 'webgpu', 'auto']);
  let doc = await documentOf(page);
  assert.equal(doc.nodes.n, { type: 'core/Number', params: { value: 2 }, provider: 'webgpu' });
  assert.equal(doc.nodes.p, plain.nodes.p, 'the other node is unchanged');
  await page.screenshot({ path: join(artifacts, 'provider-1-pinned.png') });
  assert.equal(await pin('n', 'cpu'), ['default', 'cpu', '● webgpu', 'auto']);
  assert.is((await documentOf(page)).nodes.n.provider, 'cpu');
  await page.keyboard.press('Control+z');
  assert.is((await documentOf(page)).nodes.n.provider, 'webgpu');
  await page.keyboard.press('Control+z');
  doc = await documentOf(page);
  assert.equal(doc.nodes.n, plain.nodes.n, 'undo removes the pin');
  assert.is(await page.evaluate(() => window.tessera.nodeById('n').provider), undefined);
  await page.keyboard.press('Control+y');
  assert.is((await documentOf(page)).nodes.n.provider, 'webgpu', 'redo');
  await pin('n', 'default');
  assert.equal((await documentOf(page)).nodes.n, plain.nodes.n, '"default" unpins');
  assert.equal(h.pageErrors, []);
});

test('a file with both fields opens with them shown and saves them unchanged', async () => {
  await openFromMenu(page, 'both.json');
  assert.is(await selected(), 'auto');
  assert.is(await page.evaluate(() => window.tessera.nodeById('n').provider), 'webgpu');
  assert.equal(await documentOf(page), both);
  assert.equal(await page.evaluate(async () => (await window.tessera.validate()).map((i: any) => `${i.pointer}: ${i.message}`)), [], "the server's validator takes both fields");
  const offered = await pin('n', 'webgpu');
  assert.equal(offered, ['default', 'cpu', '● webgpu', 'auto'], 'the menu shows the pin from the file');
  assert.not.ok(await page.evaluate(() => window.tessera.dirty), 'picking the current pin changes nothing');
  await page.screenshot({ path: join(artifacts, 'provider-2-both.png') });
  await page.evaluate(() => window.tessera.save());
  assert.is(fileText('both.json'), text(both), 'byte for byte');
  assert.equal(h.pageErrors, []);
});

test('live: a run with the graph set to webgpu falls back to cpu here, and the warning shows on the node that opened the session', async () => {
  await openFromMenu(page, 'finetune.json');
  await page.selectOption('#provider-select', 'webgpu');
  await page.click('#btn-run');
  await page.waitForSelector('body[data-run-status=done]', { timeout: 30_000 });
  // train/Train's summary output names the provider its session ran on.
  const runId: string = await page.evaluate(() => window.tessera.runId);
  const { events } = (await (await fetch(`${h.server.url}api/runs/${runId}/events?since=0`)).json()) as { events: any[] };
  const ranOn = events.find((e) => e.type === 'node:output' && e.nodeId === 'train')?.outputs?.summary?.provider;
  const warnings = () => page.evaluate(() => ({ train: window.tessera.nodeById('train').run?.warnings ?? [], others: window.tessera.nodes.filter((n: any) => n.tid !== 'train').flatMap((n: any) => n.run?.warnings ?? []) }));
  const shown = await warnings();
  await page.screenshot({ path: join(artifacts, 'provider-3-fallback.png') });
  if (ranOn === 'webgpu') {
    // A machine with a WebGPU adapter: nothing fell back, so no warning.
    assert.equal(shown, { train: [], others: [] });
    return;
  }
  assert.is(shown.train.length, 1, JSON.stringify(shown));
  assert.match(shown.train[0]!, /^kernels: execution provider 'webgpu' unavailable \(.+\); running on cpu$/);
  assert.equal(shown.others, [], 'only the node whose session fell back');
  assert.is(ranOn, 'cpu');
  // Under the node the message may be cut; the title's tooltip has it whole.
  const title = await page.evaluate(() => {
    const n = window.tessera.nodeById('train');
    return [n.pos[0] + 40, n.pos[1] - 15];
  });
  const [tx, ty] = await toPage(page, title as [number, number]);
  await page.mouse.move(tx - 30, ty - 30);
  await page.mouse.move(tx, ty, { steps: 3 });
  await page.waitForSelector('#tooltip:not([hidden])', { timeout: 3000 });
  assert.ok(((await page.textContent('#tooltip')) ?? '').includes(`⚠ ${shown.train[0]}`), 'the tooltip has the warning');
  // Reopening the run from its record replays the warning onto the node.
  await page.click('#btn-new');
  await page.click('#btn-runs');
  await page.click(`.run-row[data-run-id="${runId}"] .run-open`);
  await page.waitForFunction(() => window.tessera.nodeById('train')?.run?.state === 'done', undefined, { timeout: 5000 });
  assert.equal((await warnings()).train, shown.train, 'the reopened run shows it too');
  assert.equal(h.pageErrors, []);
});

test.run();
