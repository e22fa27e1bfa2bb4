// Device-resident training state (issue 20): the trainer feeds the step's own output tensors back
// (ORT's, in device memory when a GPU provider runs the step), reads nothing back per step, and
// keeps the EMA beside the params with the same arithmetic the host loop had. On this CPU machine
// "device memory" is host memory, so what is checked is that the state the loop carries is ORT's
// own output tensor (not a host copy), that the sessions ask for device outputs exactly where a GPU
// runs them, and that the EMA keeps the host loop's arithmetic.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor, Trainer, adamw, init } from '../../kernels/index.ts';
import { ortOptions } from '../../kernels/runtime/KernelSession.ts';
import type { ModelFn } from '../../kernels/train/buildStep.ts';

const B = 8;
const model: ModelFn = (g) => {
  const x = g.input('x', [B, 4]);
  const y = g.input('y', [B, 1]);
  const w = g.param('w', [4, 3], { init: init.normal(0.5) });
  const v = g.param('v', [3, 1], { init: init.normal(0.5) });
  const frozen = g.param('f', [1], { init: init.ones(), trainable: false });
  return { loss: x.matmul(w).tanh().matmul(v).mul(frozen).sub(y).square().mean() };
};
const feeds = (step: number) => {
  const x = Tensor.from(Array.from({ length: B }, (_, i) => [0, 1, 2, 3].map((j) => Math.sin(step * 7 + i * 3 + j))));
  const y = Tensor.from(Array.from({ length: B }, (_, i) => [Math.cos(step + i)]));
  return { x, y };
};

test("steps keep the step's own output tensors as the state, never host copies; setParams makes a host one", async () => {
  const t = await Trainer.create(model, { optimizer: adamw({ lr: 1e-2 }), seed: 3 });
  try {
    assert.is(t.stateLocation, 'host'); // initialisation
    for (let s = 0; s < 5; s++) await t.step(feeds(s));
    // ORT's tensor, fed back as it is: 'cpu' here, 'gpu-buffer' on a GPU provider.
    assert.is(t.stateLocation, t.provider === 'cpu' ? 'cpu' : 'gpu-buffer');
    const p = await t.readParams();
    assert.is(t.stateLocation, t.provider === 'cpu' ? 'cpu' : 'gpu-buffer'); // reading copies, it does not move the state
    t.setParams(p);
    assert.is(t.stateLocation, 'host');
    await t.step(feeds(5));
    assert.is.not(t.stateLocation, 'host');
  } finally {
    await t.dispose();
  }
});

test('in-trainer EMA equals the float64-then-round host formula bit for bit; frozen params stay exact', async () => {
  const decay = 0.9;
  const t = await Trainer.create(model, { optimizer: adamw({ lr: 5e-2 }), seed: 4 });
  try {
    let ref: Record<string, Float32Array> | null = null;
    for (let s = 0; s < 6; s++) {
      await t.step(feeds(s));
      await t.updateEma(decay);
      const p = await t.readParams();
      if (!ref) ref = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, Float32Array.from(v.data as Float32Array)]));
      else for (const [k, v] of Object.entries(p)) if (k !== 'f') ref[k] = ref[k]!.map((e, i) => decay * e + (1 - decay) * (v.data as Float32Array)[i]!);
    }
    const ema = (await t.readEma())!;
    for (const k of ['w', 'v']) assert.equal(Array.from(ema[k]!.data as Float32Array), Array.from(ref![k]!), k);
    assert.equal(Array.from(ema.f!.data as Float32Array), [1]);
    // The average moved away from the params (the test would pass trivially otherwise).
    assert.not.equal(Array.from(ema.w!.data as Float32Array), Array.from((await t.readParams()).w!.data as Float32Array));
  } finally {
    await t.dispose();
  }
});

test('setEma restores an average; wrong names or shapes are refused', async () => {
  const t = await Trainer.create(model, { seed: 1 });
  try {
    assert.is(t.hasEma, false);
    assert.is(await t.readEma(), null);
    const p = t.getParams();
    t.setEma(p);
    assert.equal(Array.from((await t.readEma())!.v!.data as Float32Array), Array.from(p.v!.data as Float32Array));
    assert.throws(() => t.setEma({ w: p.w! }), /missing parameter 'v'/);
    assert.throws(() => t.setEma({ w: p.v!, v: p.v! }), /'w' has shape \[3, 1\], expected \[4, 3\]/);
    let refused = '';
    await t.updateEma(1).catch((e: Error) => (refused = e.message));
    assert.match(refused, /decay must be in \[0, 1\)/);
  } finally {
    await t.dispose();
  }
});

test('sessions ask for device outputs only where a GPU provider runs them', () => {
  const o = ortOptions('webgpu', { deviceOutputs: ['next.params', 'next.m'] });
  assert.equal(o.preferredOutputLocation, { 'next.params': 'gpu-buffer', 'next.m': 'gpu-buffer' });
  assert.is(ortOptions('cpu', { deviceOutputs: ['next.params'] }).preferredOutputLocation, undefined);
  assert.is(ortOptions('webgpu', {}).preferredOutputLocation, undefined);
});

test.run();
