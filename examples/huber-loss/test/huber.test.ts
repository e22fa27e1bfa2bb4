import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { collectRun, createEngine, createLogger } from 'tessera';
import { gradCheck } from 'tessera/kernels';
import { builtinPlugins } from 'tessera/plugins';
import plugin, { HUBER_KERNELS, HuberKernels, huberLoss } from '../index.ts';

test('the traced Huber loss passes a finite-difference gradient check on both sides of delta', async () => {
  // pred − target spans |d| < δ and |d| > δ (δ = 0.7), away from the kink at |d| = δ.
  const r = await gradCheck((_, x) => huberLoss(x.pred!, x.target!, 0.7), {
    pred: { shape: [2, 3], values: [0.1, -1.5, 2, 0.3, -0.2, 1.1] },
    target: { shape: [2, 3], values: [0, 0, 0.5, 0.6, 0.9, -0.4] },
  });
  assert.ok(r.ok, r.summary);
});

test('HuberKernels: value and gradient against the formula; one session per shape', async () => {
  const k = new HuberKernels(2);
  const d = [0.5, -2, 3, 0];
  const { loss, grad } = await k.evaluate({ shape: [4], data: d }, { shape: [4], data: [0, 0, 0, 0] }, 1);
  const expected = d.map((x) => (Math.abs(x) <= 1 ? 0.5 * x * x : Math.abs(x) - 0.5)).reduce((a, b) => a + b) / 4;
  assert.ok(Math.abs(loss - expected) < 1e-6, `${loss} vs ${expected}`);
  assert.equal([...grad.data].map((v) => Math.round(Number(v) * 1e6) / 1e6), [0.125, -0.25, 0.25, 0]);
  try {
    await k.evaluate({ shape: [2], data: [1, 2] }, { shape: [3], data: [1, 2, 3] }, 1);
    assert.unreachable('shapes differ');
  } catch (error) {
    assert.match((error as Error).message, /pred has shape \[2\] but target has \[3\]/);
  }
  await k.release();
});

test('the nodes resolve the kernels service the plugin binds, in a graph', async () => {
  const engine = await createEngine({ plugins: [...builtinPlugins.filter((p) => p.name === 'core'), plugin], logger: createLogger(() => {}, 'error') });
  assert.ok(engine.get(HUBER_KERNELS) instanceof HuberKernels);
  const r = await collectRun(engine.run({
    format: 'tessera-graph', version: 1,
    nodes: {
      p: { type: 'huber/Tensor', params: { shape: [2], values: [3, 0.5] } },
      t: { type: 'huber/Tensor', params: { shape: [2], values: [0, 0] } },
      l: { type: 'huber/HuberLoss', params: { delta: 1 }, inputs: { pred: { node: 'p', output: 'tensor' }, target: { node: 't', output: 'tensor' } } },
    },
  }, { targets: ['l'] }));
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const out = r.events.find((e) => e.type === 'node:output' && e.nodeId === 'l') as unknown as { outputs: { loss: number } };
  assert.ok(Math.abs(out.outputs.loss - (2.5 + 0.125) / 2) < 1e-6);
});

test.run();
