import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { TesseraServer } from '../../core/server/createServer.ts';
import { startServer, tempWorkspace } from '../server/helpers.ts';
import { ensureChromium } from './chromium.ts';
import { clickWidget, dragLink as dragLinkOn, dropFile as dropFileOn, openFromMenu as openFromMenuOn, overlappingNodes } from './harness.ts';

// Callbacks given to page.evaluate run in the browser; the project's tsconfig has no DOM lib.
declare const window: any;
declare const document: any;

// End-to-end: the real server (with the bundled editor) on a loopback port, driven by Debian's
// Chromium through playwright-core. Screenshots land in test/.artifacts/editor/.

const root = new URL('../../', import.meta.url).pathname;
const artifacts = join(root, 'test/.artifacts/editor');
/** The committed graphs (work in progress of other changes in a checkout does not count). */
function committedGraphs(): string[] {
  try {
    return execFileSync('git', ['ls-files', 'graphs'], { cwd: root, encoding: 'utf8' }).split('\n').filter((f) => /^graphs\/[^/]+\.json$/.test(f)).map((f) => f.slice(7)).sort();
  } catch {
    return readdirSync(join(root, 'graphs')).filter((f) => f.endsWith('.json')).sort(); // not a git checkout
  }
}
const repoGraphs = committedGraphs();
const demo = JSON.parse(readFileSync(join(root, 'graphs/demo.json'), 'utf8'));

/** A graph with visual outputs, from the server tests' node pack. */
const previewGraph = {
  format: 'tessera-graph',
  version: 1,
  name: 'previews',
  nodes: {
    img: { type: 'servertest/Gradient', params: { width: 96, height: 64 } },
    heat: { type: 'servertest/Heat' },
    range: { type: 'core/Range', params: { stop: 40 } },
    curve: { type: 'core/ListMap', params: { op: 'power', operand: 2 }, inputs: { list: { node: 'range', output: 'list' } } },
  },
  ui: { nodes: { img: { pos: [40, 40] }, heat: { pos: [40, 380] }, range: { pos: [400, 40] }, curve: { pos: [700, 40] } } },
};

let server: TesseraServer;
let browser: Browser;
let page: Page;
const workspace = tempWorkspace('tessera-editor-');
const pageErrors: string[] = [];

test.before(async () => {
  mkdirSync(artifacts, { recursive: true });
  mkdirSync(join(workspace, 'graphs'));
  for (const f of repoGraphs) writeFileSync(join(workspace, 'graphs', f), readFileSync(join(root, 'graphs', f)));
  writeFileSync(join(workspace, 'graphs/zz-previews.json'), JSON.stringify(previewGraph, null, 2));
  // graphs/mosaic-generate.json reads the bundled checkpoint by its workspace-relative path.
  mkdirSync(join(workspace, 'plugins/mosaic/weights'), { recursive: true });
  copyFileSync(join(root, 'plugins/mosaic/weights/mosaic-small.safetensors'), join(workspace, 'plugins/mosaic/weights/mosaic-small.safetensors'));
  // The v2 graphs read the bundled v2 checkpoint and autoencoder the same way.
  copyFileSync(join(root, 'plugins/mosaic/weights/mosaic-latent-v2.safetensors'), join(workspace, 'plugins/mosaic/weights/mosaic-latent-v2.safetensors'));
  mkdirSync(join(workspace, 'plugins/latent/weights'), { recursive: true });
  copyFileSync(join(root, 'plugins/latent/weights/ae-small.safetensors'), join(workspace, 'plugins/latent/weights/ae-small.safetensors'));
  // graphs/import-finetune.json and import-unet-finetune.json import the committed tiny DiT and UNet exports.
  mkdirSync(join(workspace, 'test/fixtures/onnx'), { recursive: true });
  for (const f of ['tiny_dit_op17.onnx', 'tiny_unet_op17.onnx']) copyFileSync(join(root, 'test/fixtures/onnx', f), join(workspace, 'test/fixtures/onnx', f));
  server = await startServer({ workspace, ui: true });
  browser = await chromium.launch({
    executablePath: ensureChromium(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--window-size=1600,900'],
  });
  page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => void d.accept());
  // Nothing but the server itself may be contacted (no CDN).
  await page.route('**/*', (route) => (route.request().url().startsWith(server.url.replace(/\/$/, '')) ? route.continue() : route.abort()));
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready=true]', { timeout: 15_000 });
  await page.waitForSelector('body[data-ws=open]', { timeout: 5000 });
});

test.after(async () => {
  await browser?.close();
  await server?.close();
});

const shot = (name: string) => page.screenshot({ path: join(artifacts, `${name}.png`) });

const openFromMenu = (path: string) => openFromMenuOn(page, path);
const clickWidgetArrow = (nodeId: string, widget: string, side: 'left' | 'right') => clickWidget(page, nodeId, widget, side);
const dropFile = (name: string, text: string) => dropFileOn(page, name, text);
const dragLink = (from: string, out: number, to: string, input: number) => dragLinkOn(page, from, out, to, input);
const documentNow = () => page.evaluate(() => (window as any).tessera.toDocument());
const runStatus = () => page.evaluate(() => document.body.dataset.runStatus);

test('the editor loads: palette from the server definitions, no page errors, no foreign requests', async () => {
  const items = await page.$$eval('.palette-item', (els) => els.map((e) => (e as any).dataset.type));
  for (const t of ['core/Math', 'core/CountStream', 'servertest/Gradient']) assert.ok(items.includes(t), t);
  await page.fill('#palette-search', 'stream');
  const filtered = await page.$$eval('.palette-item', (els) => els.map((e) => (e as any).dataset.type));
  assert.ok(filtered.includes('core/CountStream'));
  assert.not.ok(filtered.includes('core/Add'));
  await page.fill('#palette-search', '');
  assert.equal(pageErrors, []);
});

test('every graph in graphs/ opens with no overlapping nodes and saves back unchanged (exact round trip)', async () => {
  for (const f of repoGraphs) {
    await openFromMenu(f);
    assert.equal(await overlappingNodes(page), [], `${f}: overlapping nodes as opened`);
    assert.equal(await documentNow(), JSON.parse(readFileSync(join(root, 'graphs', f), 'utf8')), f);
  }
});

test('round trip with every layout feature: groups, viewport, sizes, colours, collapsed, disabled, titles, unknown types, dangling links', async () => {
  const rich = {
    format: 'tessera-graph',
    version: 1,
    name: 'rich',
    description: 'layout features',
    seed: 3,
    metadata: { author: 'test', tags: ['a'] },
    nodes: {
      n: { type: 'core/Number', title: 'Input number', params: { value: 2.5 } },
      s: { type: 'core/Sum', inputs: { values: { node: 'n', output: 'value' } } },
      j: { type: 'core/JSON', params: { value: { a: [1, 2] } }, disabled: true },
      u: { type: 'plugin/Unknown', params: { x: 1 }, inputs: { in: { node: 'n', output: 'value' } } },
      d: { type: 'core/Print', inputs: { value: { node: 'ghost', output: 'value' } } },
      p: { type: 'core/Print', inputs: { value: { node: 's', output: 'sum' } }, extra: { kept: true } },
    },
    ui: {
      nodes: {
        n: { pos: [0, 0], size: [260, 90], color: '#335', bgcolor: '#224' },
        s: { pos: [320, 0], collapsed: true },
        j: { pos: [0, 200] },
        u: { pos: [320, 200] },
        d: { pos: [640, 200] },
        p: { pos: [640, 0] },
      },
      groups: [{ title: 'inputs', bounding: [-20, -60, 320, 400], color: '#3f789e' }],
      viewport: { offset: [40, 60], scale: 0.9 },
      theme: 'dark',
    },
  };
  await dropFile('rich.json', JSON.stringify(rich));
  await page.waitForFunction(() => (window as any).tessera.fileName === 'rich.json', undefined, { timeout: 5000 });
  assert.equal(await documentNow(), rich);
  await shot('01b-rich');
});

test('demo: change a param through its widget, run, progress reaches done, previews appear, save', async () => {
  await openFromMenu('demo.json');
  await shot('01-demo-loaded');
  // The widget shows the file's value; its right arrow steps it by 1.
  await clickWidgetArrow('draw', 'max', 'right');
  assert.is(await page.evaluate(() => (window as any).tessera.nodeById('draw').params.max), 101);
  assert.match(await page.textContent('#graph-name') ?? '', /●/);
  await page.click('#btn-run');
  await page.waitForFunction(() => (window as any).tessera.nodeById('slowB')?.run?.state === 'running', undefined, { timeout: 10_000 });
  // Mid-run (the docs screenshot): the stream part done with its plot, slowA running, the rest queued.
  await page.waitForFunction(() => (window as any).tessera.nodeById('slowA')?.run?.value >= 2, undefined, { timeout: 10_000 });
  // Live per-node progress while it runs.
  const mid = await page.evaluate(() => (window as any).tessera.nodes.map((n: any) => [n.tid, n.run?.state]));
  assert.ok(mid.some(([, s]: [string, string]) => s === 'running'), JSON.stringify(mid));
  await shot('02-demo-running');
  await page.waitForSelector('body[data-run-status=done]', { timeout: 15_000 });
  await page.waitForTimeout(100);
  await shot('03-demo-done');
  const states = await page.evaluate(() => Object.fromEntries((window as any).tessera.nodes.map((n: any) => [n.tid, n.run?.state])));
  for (const id of Object.keys(demo.nodes)) assert.ok(['done', 'cached'].includes(states[id]), `${id}: ${states[id]}`);
  const durations = await page.evaluate(() => (window as any).tessera.nodeById('slowA').run.durationMs);
  assert.ok(durations >= 500, `slowA took ${durations} ms`);
  // Output previews: the printed text on the sink, a plot of the collected list.
  const print = await page.evaluate(() => (window as any).tessera.nodeById('print').run.outputText);
  assert.match(print, /mean of squares 143\.5/);
  const plot = await page.evaluate(() => (window as any).tessera.nodeById('collect').run.preview);
  assert.is(plot.kind, 'plot');
  assert.is(plot.length, 20);
  assert.match(await page.textContent('#status') ?? '', /done in/);
  // Save (Ctrl+S) writes the canonical file: the demo with exactly that one param changed.
  await page.keyboard.press('Control+s');
  await page.waitForFunction(() => !(window as any).tessera.dirty, undefined, { timeout: 5000 });
  const saved = JSON.parse(readFileSync(join(workspace, 'graphs/demo.json'), 'utf8'));
  const expected = structuredClone(demo);
  expected.nodes.draw.params.max = 101;
  assert.equal(saved, expected);
  // The Runs menu lists this run; its files open from there.
  await page.click('#btn-runs');
  const runId = await page.evaluate(() => (window as any).tessera.runId);
  await page.click(`.run-row[data-run-id="${runId}"]`);
  await page.waitForSelector('.run-files a', { timeout: 5000 });
  const links = await page.$$eval('.run-files a', (els) => els.map((e) => (e as any).textContent));
  assert.ok(links.some((l: string) => l.startsWith('summary.json')), JSON.stringify(links));
  const href = await page.getAttribute('.run-files a >> nth=-1', 'href');
  assert.is((await fetch(href!)).status, 200);
  await page.click('#canvas');
  // A second run reuses cached results for nodes whose inputs did not change.
  await page.click('#btn-run');
  await page.waitForSelector('body[data-run-status=done]', { timeout: 15_000 });
  // The seeded random draw and the delay fed by it are unchanged, so they come from the cache.
  const cached = await page.evaluate(() => ['draw', 'slowB', 'count'].map((id) => (window as any).tessera.nodeById(id).run.state));
  assert.equal(cached, ['cached', 'cached', 'done']);
});

test('image, heatmap and plot previews are drawn on their nodes', async () => {
  await openFromMenu('zz-previews.json');
  await page.click('#btn-run');
  await page.waitForSelector('body[data-run-status=done]', { timeout: 10_000 });
  await page.waitForFunction(() => (window as any).tessera.nodeById('img').run?.preview?.image?.complete, undefined, { timeout: 5000 });
  const kinds = await page.evaluate(() => ['img', 'heat', 'curve'].map((id) => (window as any).tessera.nodeById(id).run.preview?.kind));
  assert.equal(kinds, ['image', 'heatmap', 'plot']);
  const size = await page.evaluate(() => {
    const p = (window as any).tessera.nodeById('img').run.preview;
    return [p.image.naturalWidth, p.image.naturalHeight];
  });
  assert.equal(size, [96, 64]);
  await page.waitForTimeout(100);
  await shot('04-previews');
});

test('validation errors show on the offending node before running; nothing is queued', async () => {
  const broken = { ...structuredClone(demo), name: 'broken' };
  broken.nodes.square.params.op = 'nope';
  delete broken.nodes.collect.inputs;
  await dropFile('broken.json', JSON.stringify(broken));
  await page.waitForFunction(() => (window as any).tessera.fileName === 'broken.json', undefined, { timeout: 5000 });
  await page.waitForFunction(() => (window as any).tessera.nodeById('square').issues.length > 0, undefined, { timeout: 5000 });
  const runCount = async () => ((await (await fetch(`${server.url}api/runs`)).json()) as { runs: unknown[] }).runs.length;
  const before = await runCount();
  await page.click('#btn-run');
  await page.waitForSelector('body[data-run-status=invalid]', { timeout: 5000 });
  const issues = await page.evaluate(() => Object.fromEntries((window as any).tessera.nodes.filter((n: any) => n.issues.length).map((n: any) => [n.tid, n.issues.map((i: any) => i.code)])));
  assert.ok(issues.square?.includes('invalid_params'), JSON.stringify(issues));
  assert.ok(issues.collect?.includes('missing_input'), JSON.stringify(issues));
  assert.is(await runCount(), before);
  await shot('05-validation');
});

test('links: incompatible port types are refused, compatible ones (INT → NUMBER, ANY) accepted', async () => {
  await page.click('#btn-new');
  const result = await page.evaluate(() => {
    const ed = (window as any).tessera;
    const text = ed.addNode('core/String', [0, 0]);
    const seed = ed.addNode('core/Seed', [0, 200]);
    const math = ed.addNode('core/Math', [300, 0]);
    const print = ed.addNode('core/Print', [300, 200]);
    const refused = text.connect(0, math, 0);
    const intToNumber = seed.connect(0, math, 0);
    const toAny = text.connect(0, print, 0);
    return { refused: refused == null, intToNumber: intToNumber != null, toAny: toAny != null, ids: ed.nodes.map((n: any) => n.tid) };
  });
  assert.ok(result.refused, 'STRING → NUMBER refused');
  assert.ok(result.intToNumber, 'INT → NUMBER accepted');
  assert.ok(result.toAny, 'STRING → ANY accepted');
  assert.equal(result.ids, ['string', 'seed', 'math', 'print']);
  const doc = await documentNow();
  assert.equal(doc.nodes.math.inputs, { a: { node: 'seed', output: 'seed' } });
  // The seed widget's randomize button sets a value in range.
  const seedValue = await page.evaluate(() => {
    const n = (window as any).tessera.nodeById('seed');
    n.widgets.find((w: any) => w.type === 'button').callback();
    return n.params.value;
  });
  assert.ok(Number.isInteger(seedValue) && seedValue >= 0 && seedValue <= 4294967295);
  // A file-path param offers the workspace's files (here: .json only).
  await page.click('.palette-item[data-type="servertest/PickFile"]');
  await page.waitForFunction(() => (window as any).tessera.nodeById('pickFile')?.widgets[0].options.values.length > 1, undefined, { timeout: 5000 });
  const files = await page.evaluate(() => (window as any).tessera.nodeById('pickFile').widgets[0].options.values);
  assert.ok(files.includes('graphs/demo.json'), JSON.stringify(files));
  assert.ok(files.every((f: string) => f === '' || f.endsWith('.json')), JSON.stringify(files));
  // Copy/paste: the copy keeps its params and gets a fresh id.
  const pasted = await page.evaluate(() => {
    const ed = (window as any).tessera;
    const math = ed.nodeById('math');
    math.setParam('op', 'max');
    ed.canvas.selectNodes([math]);
    ed.canvas.copyToClipboard();
    ed.canvas.pasteFromClipboard();
    const copy = ed.nodes.find((n: any) => n.tid === 'math2');
    return copy && { type: copy.def.type, params: copy.params };
  });
  assert.equal(pasted, { type: 'core/Math', params: { op: 'max' } });
});

test('links drawn with the mouse: an incompatible drop is refused, a compatible one connects', async () => {
  await page.click('#btn-new');
  await page.evaluate(() => {
    const ed = (window as any).tessera;
    ed.addNode('core/String', [0, 0]);
    ed.addNode('core/Number', [0, 200]);
    ed.addNode('core/Math', [360, 60]);
    ed.canvas.ds.offset = [80, 80];
    ed.canvas.ds.scale = 1;
    ed.canvas.setDirty(true, true);
  });
  await dragLink('string', 0, 'math', 0);
  assert.is((await documentNow()).nodes.math.inputs, undefined, 'STRING → NUMBER refused');
  await dragLink('number', 0, 'math', 0);
  assert.equal((await documentNow()).nodes.math.inputs, { a: { node: 'number', output: 'value' } });
  // Live validation follows the edit: the "not connected" problem goes away.
  await page.waitForFunction(() => (window as any).tessera.nodeById('math').issues.length === 0, undefined, { timeout: 5000 });
  await shot('07-linked');
});

test('a token-protected server: the editor opened with ?token= works (assets via cookie, API, WebSocket)', async () => {
  const guarded = await startServer({ workspace, ui: true, token: 'e2e-token' });
  const other = await browser.newPage();
  try {
    assert.is((await other.goto(guarded.url))!.status(), 401);
    await other.goto(`${guarded.url}?token=e2e-token&graph=demo.json`);
    await other.waitForSelector('body[data-ready=true]', { timeout: 10_000 });
    await other.waitForSelector('body[data-ws=open]', { timeout: 5000 });
    assert.is(await other.evaluate(() => (window as any).tessera.nodes.length), Object.keys(demo.nodes).length);
  } finally {
    await other.close();
    await guarded.close();
  }
});

test('a failing node shows its message; cancel stops a running graph', async () => {
  const failing = { format: 'tessera-graph', version: 1, nodes: { n: { type: 'core/Number', params: { value: 1 } }, f: { type: 'servertest/Fail', params: { message: 'deliberate failure' }, inputs: { value: { node: 'n', output: 'value' } } } } };
  await dropFile('failing.json', JSON.stringify(failing));
  await page.waitForFunction(() => (window as any).tessera.fileName === 'failing.json', undefined, { timeout: 5000 });
  await page.click('#btn-run');
  await page.waitForSelector('body[data-run-status=failed]', { timeout: 10_000 });
  const f = await page.evaluate(() => (window as any).tessera.nodeById('f').run);
  assert.is(f.state, 'error');
  assert.is(f.message, 'deliberate failure');
  assert.match(await page.textContent('#status') ?? '', /deliberate failure/);
  await shot('06-failed');

  const slow = { format: 'tessera-graph', version: 1, nodes: { s: { type: 'servertest/Sleep', params: { ms: 20_000 } } } };
  await dropFile('slow.json', JSON.stringify(slow));
  await page.waitForFunction(() => (window as any).tessera.fileName === 'slow.json', undefined, { timeout: 5000 });
  await page.click('#btn-run');
  await page.waitForFunction(() => (window as any).tessera.nodeById('s').run?.state === 'running', undefined, { timeout: 10_000 });
  assert.is(await page.isEnabled('#btn-cancel'), true);
  await page.click('#btn-cancel');
  await page.waitForSelector('body[data-run-status=cancelled]', { timeout: 5000 });
  assert.is(await page.isEnabled('#btn-cancel'), false);
});

test('a dropped WebSocket mid-run: the editor reconnects and catches up on the missed events', async () => {
  const other = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  const connections: { close: () => Promise<void> }[] = [];
  let outage = false;
  await other.routeWebSocket(/\/api\/ws/, (ws) => {
    if (outage) {
      void ws.close({ code: 4001 }).catch(() => undefined); // server unreachable: the client retries
      return;
    }
    const upstream = ws.connectToServer();
    let up = true;
    // Once this connection is dropped, whatever the server still sends on it is lost.
    upstream.onMessage((m) => {
      if (up) ws.send(m);
    });
    connections.push({
      close: async () => {
        up = false;
        await ws.close({ code: 4000 }).catch(() => undefined);
      },
    });
  });
  try {
    await other.goto(`${server.url}?graph=demo.json`);
    await other.waitForSelector('body[data-ws=open]', { timeout: 10_000 });
    await other.click('#btn-run');
    await other.waitForFunction(() => (window as any).tessera.nodeById('slowA')?.run?.state === 'running', undefined, { timeout: 10_000 });
    outage = true;
    await connections[connections.length - 1]!.close();
    await other.waitForSelector('body[data-ws=closed]', { timeout: 5000 });
    // The outage lasts until the run has finished: every remaining event is missed.
    const runId = await other.evaluate(() => (window as any).tessera.runId);
    for (let i = 0; i < 300; i++) {
      const r = (await (await fetch(`${server.url}api/runs/${runId}`)).json()) as { status: string };
      if (r.status === 'done') break;
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.is(await other.evaluate(() => document.body.dataset.runStatus), 'running');
    outage = false;
    await other.waitForSelector('body[data-run-status=done]', { timeout: 15_000 });
    assert.ok(connections.length >= 2, 'reconnected');
    const states = await other.evaluate(() => Object.fromEntries((window as any).tessera.nodes.map((n: any) => [n.tid, n.run?.state])));
    for (const id of Object.keys(demo.nodes)) assert.ok(['done', 'cached'].includes(states[id]), `${id}: ${states[id]}`);
  } finally {
    await other.close();
  }
});

/**
 * Params that shrink the long-running graphs to seconds for this test (the graph files stay as
 * they are; the editor's document is edited in place before Run): MOSAIC training takes ~15 min.
 */
const QUICK: Record<string, Record<string, Record<string, unknown>>> = {
  'mosaic-train.json': { trainData: { train: 24 }, testData: { test: 6 }, model: { preset: 'tiny' }, train: { steps: 3, checkpointEvery: 0, checkpointDir: '' }, sample: { steps: 2 } },
  'mosaic-generate.json': { testData: { test: 6 }, sample: { steps: 2 } },
  'mosaic-v1-generate.json': { testData: { test: 6 }, sample: { steps: 2 } },
  'mosaic-v2-train.json': { trainData: { train: 12, kMax: 2 }, testData: { test: 4, kMax: 2 }, model: { width: 32, depth: 1, heads: 2 }, train: { steps: 3, warmupSteps: 0, checkpointEvery: 0, checkpointDir: '' }, sample: { steps: 2 } },
  'latent-train.json': { trainData: { train: 24 }, testData: { test: 6 }, autoencoder: { preset: 'tiny' }, train: { steps: 3, warmupSteps: 0, checkpointEvery: 0, checkpointDir: '' } },
  'focusdpo-train.json': { data: { train: 8 }, focus: { times: [0.5] }, train: { steps: 2, batchSize: 2, warmupSteps: 0 } },
  'focusdpo-v2-train.json': { data: { train: 8, kMax: 2 }, focus: { times: [0.5] }, train: { steps: 2, batchSize: 2, warmupSteps: 0, checkpointEvery: 0, checkpointDir: '' } },
  'focusdpo-generate.json': { trainData: { train: 8 }, testData: { test: 2 }, train: { steps: 2, batchSize: 2, warmupSteps: 0 }, before: { steps: 2 }, after: { steps: 2 } },
};

test('every graph in graphs/ runs from the editor', async () => {
  for (const f of repoGraphs) {
    await openFromMenu(f);
    if (QUICK[f]) {
      await page.evaluate(([patch, path]) => {
        const t = (window as any).tessera;
        const doc = t.toDocument();
        for (const [id, params] of Object.entries(patch as Record<string, Record<string, unknown>>)) doc.nodes[id].params = { ...doc.nodes[id].params, ...params };
        t.load(doc, { path });
      }, [QUICK[f], f] as const);
    }
    await page.click('#btn-run');
    await page.waitForFunction(() => ['done', 'failed', 'cancelled', 'invalid'].includes(document.body.dataset.runStatus ?? ''), undefined, { timeout: 30_000 });
    const unknown = await page.evaluate(() => (window as any).tessera.issues.filter((i: any) => i.code === 'unknown_node_type').map((i: any) => i.message));
    assert.equal(unknown, [], `${f} uses node types the server's plugins do not register (plugins/index.ts): ${unknown.join('; ')}`);
    assert.is(await runStatus(), 'done', `${f}: ${await page.textContent('#status')}`);
    await page.waitForTimeout(100);
    await shot(`09-ran-${f.replace(/\.json$/, '')}`);
    // Previews grew their nodes, never over a neighbour.
    assert.ok(await page.evaluate(() => (window as any).tessera.nodes.some((n: any) => n.run?.preview)), `${f}: no previews`);
    assert.equal(await overlappingNodes(page), [], `${f}: overlapping nodes after the run`);
    // Arrange leaves no two nodes overlapping (a layout edit: the graph is then modified).
    await page.click('#btn-arrange');
    assert.equal(await overlappingNodes(page), [], `${f}: overlapping nodes after Arrange`);
    assert.ok(await page.evaluate(() => (window as any).tessera.dirty));
    await shot(`10-arranged-${f.replace(/\.json$/, '')}`);
  }
  assert.equal(pageErrors, []);
});

test.run();
