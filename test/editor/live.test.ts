import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { artifacts, root, startEditor, type EditorHarness } from './harness.ts';

declare const window: any;
declare const document: any;

// Every tab is live: a second page showing the same graph follows a run started in the first,
// and an idle page notices when the server goes away.

let h: EditorHarness;

test.before(async () => {
  h = await startEditor({ 'demo.json': join(root, 'graphs/demo.json') });
});
test.after(async () => {
  await h?.browser.close();
  await h?.server.close().catch(() => undefined);
});

test('a second page sees a run started in the first, node by node, to the end', async () => {
  const first = await h.open('?graph=demo.json');
  const second = await h.open('?graph=demo.json');
  await first.click('#btn-run');
  await second.waitForFunction(() => window.tessera.nodeById('slowA')?.run?.state === 'running', undefined, { timeout: 15_000 });
  await second.screenshot({ path: join(artifacts, 'live-1-second-tab.png') });
  await second.waitForSelector('body[data-run-status=done]', { timeout: 20_000 });
  const ids = await Promise.all([first, second].map((p) => p.evaluate(() => window.tessera.runId)));
  assert.ok(ids[0]);
  assert.is(ids[1], ids[0], 'the same run');
  const states = await second.evaluate(() => Object.fromEntries(window.tessera.nodes.map((n: any) => [n.tid, n.run?.state])));
  for (const [id, s] of Object.entries(states)) assert.ok(['done', 'cached'].includes(s as string), `${id}: ${s}`);
  assert.match((await second.textContent('#status')) ?? '', /done in/);
});

test('an idle page notices that the server is down', async () => {
  const idle = await h.open('?graph=demo.json');
  assert.is(await idle.$('#server-down'), null);
  await h.server.close();
  await idle.waitForSelector('#server-down', { timeout: 10_000 });
  assert.is(await idle.evaluate(() => document.body.dataset.ws), 'closed');
  assert.match((await idle.textContent('#server-down')) ?? '', /server unreachable/);
  await idle.screenshot({ path: join(artifacts, 'live-2-server-down.png') });
  assert.equal(h.pageErrors, []);
});

test.run();
