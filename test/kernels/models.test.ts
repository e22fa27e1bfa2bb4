// End-to-end: a small MLP and a small attention model train deterministically with falling loss,
// and checkpoint save → load → continue reproduces the uninterrupted run exactly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Tensor,
  Trainer,
  adamw,
  flowMatchingNoise,
  init,
  groupMask,
  ops as o,
  transformerBlock,
  transformerBlockParams,
  weightedMSE,
  type Graph,
  type TrainerOptions,
} from '../../kernels/index.ts';

const N = 32;
const xs = new Tensor('float32', [N, 2], Float32Array.from({ length: 2 * N }, (_, i) => Math.sin(i * 1.7) * 2));
const ys = new Tensor('float32', [N, 1], Float32Array.from({ length: N }, (_, i) => Math.sin(xs.data[2 * i]!) * Math.cos(xs.data[2 * i + 1]!)));

function mlp(g: Graph) {
  const x = g.input('x', [N, 2]);
  const y = g.input('y', [N, 1]);
  const w1 = g.param('w1', [2, 16], { init: init.xavier() });
  const b1 = g.param('b1', [16], { init: init.zeros(), decay: false });
  const w2 = g.param('w2', [16, 1], { init: init.xavier() });
  const pred = o.linear(o.linear(x, w1, b1).tanh(), w2);
  return { loss: pred.sub(y).square().mean(), outputs: { pred } };
}

const B = 2;
const T = 6;
const D = 8;
const data = new Tensor('float32', [B, T, D], Float32Array.from({ length: B * T * D }, (_, i) => Math.cos(i * 0.37)));

function attentionModel(g: Graph) {
  // Flow matching with in-graph noise: exercises seeded randomness inside the step.
  const x0 = g.input('x0', [B, T, D]);
  const eps = o.randomNormal(g, [B, T, D]);
  const t = o.randomUniform(g, [B], 0.05, 0.95);
  const { xt, target } = flowMatchingNoise(x0, eps, t);
  const p = transformerBlockParams(g, 'blk', D, 16);
  const { out } = transformerBlock(xt, p, { heads: 2, mask: groupMask([1, 3, 1, 1], (i, j) => !(i >= 2 && j >= 2 && i !== j)) });
  return { loss: weightedMSE(out, target) };
}

function regressionAttention(g: Graph) {
  const x = g.input('x', [B, T, D]);
  const p = transformerBlockParams(g, 'blk', D, 16);
  const { out } = transformerBlock(x, p, { heads: 2 });
  return { loss: weightedMSE(out, o.mul(x, -1)) };
}

async function losses(fn: (g: Graph) => { loss: any }, feeds: Record<string, Tensor>, steps: number, opts: TrainerOptions) {
  const t = await Trainer.create(fn, opts);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push((await t.step(feeds)).loss);
  return { out, t };
}

test('MLP: same seed → identical losses; loss falls; different seed differs', async () => {
  const opts = { optimizer: adamw({ lr: 0.02 }), seed: 1 };
  const a = await losses(mlp, { x: xs, y: ys }, 60, opts);
  const b = await losses(mlp, { x: xs, y: ys }, 60, opts);
  assert.equal(a.out, b.out);
  assert.ok(a.out[59]! < a.out[0]! * 0.5, `loss ${a.out[0]} → ${a.out[59]}`);
  const c = await losses(mlp, { x: xs, y: ys }, 3, { ...opts, seed: 2 });
  assert.not.equal(c.out, a.out.slice(0, 3));
});

test('attention block regression: deterministic and the loss falls', async () => {
  const opts = { optimizer: adamw({ lr: 0.01 }), seed: 4, clipGradNorm: 1 };
  const a = await losses(regressionAttention, { x: data }, 40, opts);
  const b = await losses(regressionAttention, { x: data }, 40, opts);
  assert.equal(a.out, b.out);
  assert.ok(a.out[39]! < a.out[0]! * 0.6, `loss ${a.out[0]} → ${a.out[39]}`);
});

test('attention + flow matching with in-graph noise: deterministic, loss falls, resume is exact', async () => {
  const opts = { optimizer: adamw({ lr: 0.01 }), seed: 9 };
  const a = await losses(attentionModel, { x0: data }, 30, opts);
  const b = await losses(attentionModel, { x0: data }, 30, opts);
  assert.equal(a.out, b.out);
  const mean = (v: number[]) => v.reduce((p, q) => p + q, 0) / v.length;
  assert.ok(mean(a.out.slice(-5)) < mean(a.out.slice(0, 5)), `loss ${mean(a.out.slice(0, 5))} → ${mean(a.out.slice(-5))}`);
  const dir = await mkdtemp(join(tmpdir(), 'kern-model-'));
  try {
    const first = await losses(attentionModel, { x0: data }, 12, opts);
    await first.t.save(join(dir, 'c.safetensors'));
    const resumed = await Trainer.create(attentionModel, { ...opts, seed: 123 }); // RNG state comes from the checkpoint
    await resumed.load(join(dir, 'c.safetensors'));
    const rest: number[] = [];
    for (let i = 12; i < 30; i++) rest.push((await resumed.step({ x0: data })).loss);
    assert.equal(rest, a.out.slice(12));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
