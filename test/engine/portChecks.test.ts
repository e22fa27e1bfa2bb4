import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { collectRun, createEngine, defineNode, definePlugin, portValueProblem, type AnyNodeDefinition } from 'tessera';
import { builtinPlugins } from 'tessera/plugins';

const node = (type: string, outputs: AnyNodeDefinition['outputs'], execute: AnyNodeDefinition['execute'], extra: Partial<AnyNodeDefinition> = {}): AnyNodeDefinition =>
  defineNode({ type, title: type, category: 't', description: '', version: '1.0.0', inputs: {}, outputs, execute, ...extra } as AnyNodeDefinition);

const BadImage = node('checks/BadImage', { image: { type: 'IMAGE' } }, () => ({ image: 'not an image' }));
const ShortImage = node('checks/ShortImage', { image: { type: 'IMAGE' } }, () => ({ image: { width: 4, height: 4, channels: 4, data: new Uint8Array(10) } }));
const Infinite = node('checks/Infinite', { value: { type: 'NUMBER' } }, () => ({ value: Infinity }));
const Stray = node('checks/Stray', { value: { type: 'NUMBER' } }, () => ({ value: 1, vaule: 2 }));
const Unchecked = node('checks/Unchecked', { value: { type: 'NUMBER' } }, () => ({ value: 'fast path' }), { checkPorts: false });
const StreamBad = node('checks/StreamBad', { n: { type: 'INT', stream: true } }, async function* () {
  yield { n: 1 };
  yield { n: 2.5 };
});
const plugin = definePlugin({ name: 'checks', version: '1.0.0', nodes: [BadImage, ShortImage, Infinite, Stray, Unchecked, StreamBad] });
const engine = await createEngine({ plugins: [...builtinPlugins, plugin] });

async function errorOf(type: string, sink = true, options = {}) {
  const nodes: Record<string, unknown> = { src: { type } };
  if (sink) nodes.out = { type: 'core/Print', inputs: { value: { node: 'src', output: Object.keys(engine.registry.get(type)!.outputs)[0]! } } };
  const run = await collectRun(engine.run({ format: 'tessera-graph', version: 1, nodes }, options));
  const failed = run.events.find((e) => e.type === 'node:error' && e.nodeId === 'src') as { error: { message: string } } | undefined;
  return { run, message: failed?.error.message };
}

test('a string on an IMAGE port fails at the node that produced it, naming node, port, expected and got', async () => {
  const { message } = await errorOf('checks/BadImage');
  assert.match(message!, /node "src" \(checks\/BadImage\) output "image": expected IMAGE: \{ width, height: positive integers, channels: 1\|3\|4, data: Uint8Array of width·height·channels bytes \}; got "not an image"/);
});

test('an IMAGE whose data length does not match its dimensions is refused', async () => {
  const { message } = await errorOf('checks/ShortImage');
  assert.match(message!, /output "image": expected IMAGE.*got \{ width: 4, height: 4, channels: 4, data: Uint8Array\(10\) \}/);
});

test('NUMBER must not be infinite; INT must be an integer, also for streamed values', async () => {
  assert.match((await errorOf('checks/Infinite')).message!, /output "value": expected NUMBER: a number \(NaN allowed, not ±Infinity\); got Infinity/);
  assert.match((await errorOf('checks/StreamBad', false)).message!, /node "src" \(checks\/StreamBad\) output "n": expected INT: a safe integer; got 2\.5/);
});

test('an unknown output key is an error (a typo no longer disappears)', async () => {
  assert.match((await errorOf('checks/Stray')).message!, /node "src" \(checks\/Stray\) returned unknown output "vaule"; its outputs are "value"/);
});

test('opt-outs: a node with checkPorts: false, or a run with checkPorts: false, skips the shape checks', async () => {
  assert.is((await errorOf('checks/Unchecked')).message, undefined);
  assert.is((await errorOf('checks/BadImage', true, { checkPorts: false })).message, undefined);
  // Unknown keys stay errors with the checks off.
  assert.match((await errorOf('checks/Stray', true, { checkPorts: false })).message!, /unknown output "vaule"/);
});

test('portValueProblem: unions fit when any member does; types without a rule pass; TENSOR is {shape, data}', () => {
  assert.is(portValueProblem('IMAGE|TENSOR', { shape: [2, 3], data: new Float32Array(6) }), undefined);
  assert.match(portValueProblem('TENSOR', { shape: [2, 3], data: new Float32Array(5) })!, /expected TENSOR/);
  assert.is(portValueProblem('MODEL', 'anything'), undefined);
  assert.is(portValueProblem('MY_TYPE', 42), undefined);
  assert.is(portValueProblem('NUMBER', Number.NaN), undefined);
  assert.match(portValueProblem('STRING|BOOLEAN', 1)!, /expected STRING\|BOOLEAN: a string or a boolean; got 1/);
});

test('built-in graphs still pass the checks (core nodes emit well-formed values)', async () => {
  const run = await collectRun(engine.run({ format: 'tessera-graph', version: 1, nodes: { a: { type: 'core/Number', params: { value: 2 } }, b: { type: 'core/Add', inputs: { a: { node: 'a', output: 'value' }, b: { node: 'a', output: 'value' } } } } }));
  assert.is(run.status, 'done');
  assert.equal(run.results.b, { sum: 4 });
});

test.run();
