// The HTTP API's run `provider` (issue 20): validated, recorded in the run's info and run.json,
// and applied to the run's nodes; the fallback on this CPU machine reaches clients as one
// node:log warning event. Real server on loopback, real ORT.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, createLogger } from 'tessera';
import type { TesseraServer } from '../../core/server/createServer.ts';
import { builtinPlugins } from '../../plugins/index.ts';
import { providerTestPlugin } from '../support/providerTestPlugin.ts';
import { call, graph, startServer, tempWorkspace, waitForRun } from './helpers.ts';

let server: TesseraServer;
const workspace = tempWorkspace();
const doc = graph({ a: { type: 'provtest/Neg' } });

test.before(async () => {
  const engine = await createEngine({ plugins: [...builtinPlugins, providerTestPlugin], logger: createLogger(() => undefined) });
  server = await startServer({ engine, workspace });
});
test.after(async () => server.close());

const warningsOf = async (id: string) => ((await call(server.url, 'GET', `/api/runs/${id}/events`)).json.events as any[]).filter((e) => e.type === 'node:log' && e.level === 'warn');

test('an unknown provider is a 400 naming the field', async () => {
  const r = await call(server.url, 'POST', '/api/runs', { body: { graph: doc, provider: 'cuda' } });
  assert.is(r.status, 400);
  assert.match(JSON.stringify(r.json), /provider/);
});

test("a run's provider: in its info and run.json; the fallback is one warning event", async () => {
  const r = await call(server.url, 'POST', '/api/runs', { body: { graph: doc, provider: 'webgpu' } });
  assert.is(r.status, 202);
  assert.is(r.json.run.provider, 'webgpu');
  const done = await waitForRun(server.url, r.json.run.id);
  assert.is(done.status, 'done');
  assert.is(done.provider, 'webgpu');
  assert.is(JSON.parse(readFileSync(join(workspace, 'runs', r.json.run.id, 'run.json'), 'utf8')).provider, 'webgpu');
  const outputs = ((await call(server.url, 'GET', `/api/runs/${r.json.run.id}/events`)).json.events as any[]).find((e) => e.type === 'node:output');
  if (outputs.outputs.provider === 'webgpu') return; // a machine with a WebGPU adapter
  const w = await warningsOf(r.json.run.id);
  assert.is(w.length, 1, JSON.stringify(w));
  assert.equal([w[0].nodeId, w[0].fields.provider, w[0].fields.fallback], ['a', 'webgpu', 'cpu']);
});

test("the graph's own provider applies when the request names none; the request's wins", async () => {
  const byGraph = await call(server.url, 'POST', '/api/runs', { body: { graph: { ...doc, provider: 'webgpu' } } });
  assert.is(byGraph.json.run.provider, 'webgpu');
  const overridden = await call(server.url, 'POST', '/api/runs', { body: { graph: { ...doc, provider: 'webgpu' }, provider: 'cpu' } });
  assert.is(overridden.json.run.provider, 'cpu');
  await waitForRun(server.url, byGraph.json.run.id);
  await waitForRun(server.url, overridden.json.run.id);
  assert.is((await warningsOf(overridden.json.run.id)).length, 0);
});

test.run();
