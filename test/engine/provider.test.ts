// Per-graph, per-run and per-node `provider` (issue 20): the executor hands each node's effective
// provider to the ONNX sessions it opens (plugins/runtime's execution scope), an unavailable one
// falls back to cpu with ONE node:log warning per run, concurrent runs in one engine keep their
// own settings, and streamed nodes get the scope on every next(). Real engine, real ORT; on this
// CPU machine webgpu really is unavailable (a machine with an adapter takes the other branch).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lastValueFrom, toArray } from 'rxjs';
import { createEngine, type Engine, type ExecutionEvent, type GraphDocument } from 'tessera';
import { providerTestPlugin as plugin } from '../support/providerTestPlugin.ts';
import { builtinPlugins } from '../../plugins/index.ts';
import { PROVIDER_SETTINGS } from '../../kernels/runtime/provider.ts';
import { PROVIDER_CHOICES } from '../../core/graph/providers.ts';

let engine: Engine;
const graph = (nodes: GraphDocument['nodes'], extra: Partial<GraphDocument> = {}): GraphDocument => ({ format: 'tessera-graph', version: 1, ...extra, nodes }) as GraphDocument;
const run = async (doc: GraphDocument, options: Parameters<Engine['run']>[1] = {}) => lastValueFrom(engine.run(doc, { useCache: false, ...options }).pipe(toArray()));
const warnings = (events: ExecutionEvent[]) => events.filter((e): e is Extract<ExecutionEvent, { type: 'node:log' }> => e.type === 'node:log' && e.level === 'warn' && /execution provider/.test(e.message));
const outputOf = (events: ExecutionEvent[], id: string) => (events.find((e) => e.type === 'node:output' && e.nodeId === id) as Extract<ExecutionEvent, { type: 'node:output' }>).outputs;
const results = (events: ExecutionEvent[]) => (events.find((e) => e.type === 'run:done') as Extract<ExecutionEvent, { type: 'run:done' }>).results;

test.before(async () => {
  engine = await createEngine({ plugins: [...builtinPlugins, plugin], logger: { debug() {}, info() {}, warn() {}, error() {} } as never });
});

test('core and kernels list the same provider values', () => {
  assert.equal([...PROVIDER_CHOICES], [...PROVIDER_SETTINGS]);
});

test('run option webgpu: every node asks for it; one fallback warning per run, with fields; results equal cpu', async () => {
  const doc = graph({ a: { type: 'provtest/Neg' }, b: { type: 'provtest/Neg', params: { tag: 'b' }, inputs: { after: { node: 'a', output: 'y' } } } });
  const gpu = await run(doc, { provider: 'webgpu' });
  const cpu = await run(doc, { provider: 'cpu' });
  assert.equal(results(gpu).b!.y, [-1, 2, -3]);
  assert.equal(results(gpu).b!.y, results(cpu).b!.y);
  assert.is(warnings(cpu).length, 0);
  if (results(gpu).b!.provider === 'webgpu') return; // a machine with a WebGPU adapter
  assert.is(outputOf(gpu, 'a').provider, 'cpu');
  assert.is(results(gpu).b!.provider, 'cpu');
  const w = warnings(gpu);
  assert.is(w.length, 1, JSON.stringify(w));
  assert.is(w[0]!.nodeId, 'a'); // the node that hit it first
  assert.equal({ provider: w[0]!.fields?.provider, fallback: w[0]!.fields?.fallback }, { provider: 'webgpu', fallback: 'cpu' });
  assert.type(w[0]!.fields?.reason, 'string');
  assert.not.match(String(w[0]!.fields?.reason), /^\/onnxruntime_src/); // the reason, not ORT's source location
  // A later run reports it again (once): each run's stream says why it ran on cpu.
  assert.is(warnings(await run(doc, { provider: 'webgpu' })).length, 1);
});

test("precedence: a node's pin wins over the run, the run over the graph", async () => {
  const pinned = graph({ a: { type: 'provtest/Neg', provider: 'cpu' } });
  assert.is(warnings(await run(pinned, { provider: 'webgpu' })).length, 0);
  const fromGraph = graph({ a: { type: 'provtest/Neg' } }, { provider: 'webgpu' });
  const byGraph = await run(fromGraph);
  const overridden = await run(fromGraph, { provider: 'cpu' });
  assert.is(warnings(overridden).length, 0);
  if (results(byGraph).a!.provider === 'webgpu') return;
  assert.is(warnings(byGraph).length, 1);
  const nodePinGpu = graph({ a: { type: 'provtest/Neg', provider: 'webgpu' } }, { provider: 'cpu' });
  assert.is(warnings(await run(nodePinGpu, { provider: 'cpu' })).length, 1);
});

test('concurrent runs in one engine keep their own provider (no process-wide switch)', async () => {
  const doc = graph({ a: { type: 'provtest/Neg' } });
  const [gpu, cpu] = await Promise.all([run(doc, { provider: 'webgpu' }), run(doc, { provider: 'cpu' })]);
  assert.is(warnings(cpu).length, 0);
  if (results(gpu).a!.provider === 'webgpu') return;
  assert.is(warnings(gpu).length, 1);
});

test('a streaming node gets its scope inside every next() of its generator', async () => {
  const events = await run(graph({ s: { type: 'provtest/NegStream' } }), { provider: 'webgpu' });
  const outs = events.filter((e) => e.type === 'node:output' && e.nodeId === 's') as Extract<ExecutionEvent, { type: 'node:output' }>[];
  assert.is(outs.length, 2);
  if (outs[0]!.outputs.provider === 'webgpu') return;
  const w = warnings(events);
  assert.is(w.length, 1, JSON.stringify(events.map((e) => e.type)));
  assert.is(w[0]!.nodeId, 's');
});

test('the cache does not hand a cpu result to a webgpu node, and keeps reusing per provider', async () => {
  const doc = graph({ a: { type: 'provtest/Neg', params: { tag: 'cache' } } });
  const cached = async (provider: 'cpu' | 'webgpu') => (await lastValueFrom(engine.run(doc, { provider }).pipe(toArray()))).some((e) => e.type === 'node:cached');
  assert.is(await cached('cpu'), false);
  assert.is(await cached('cpu'), true);
  assert.is(await cached('webgpu'), false);
  assert.is(await cached('webgpu'), true);
});

test('setting a provider changes no random draw (the rng keys stay provider-free), with the cache on', async () => {
  const doc = graph({ r: { type: 'core/Random', params: { max: 1000 } }, n: { type: 'provtest/Neg', inputs: { after: { node: 'r', output: 'value' } } } });
  const value = async (provider?: 'cpu' | 'webgpu') => {
    const events = await lastValueFrom(engine.run(doc, { seed: 3, ...(provider ? { provider } : {}) }).pipe(toArray()));
    return outputOf(events, 'r').value as number;
  };
  const unset = await value();
  assert.is(await value('cpu'), unset);
  assert.is(await value('webgpu'), unset);
});

test('an invalid provider in the file is a validation issue with its JSON pointer', () => {
  const issues = engine.validate({ format: 'tessera-graph', version: 1, provider: 'cuda', nodes: { a: { type: 'provtest/Neg', provider: 'gpu' } } });
  assert.ok(issues.some((i) => i.pointer === '/provider'), JSON.stringify(issues));
  assert.ok(issues.some((i) => i.pointer === '/nodes/a/provider'), JSON.stringify(issues));
});

test.run();
