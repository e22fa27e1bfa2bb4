// Graph surgery on imported PyTorch exports: rewrites that wrap or replace a node's output by
// name (LoRA on the activation path of MatMul/Gemm/Conv, a mask on attention logits, a tap), and
// clear errors when a name matches nothing. Fixtures: test/fixtures/onnx (torch 1.13 exports).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph, KernelSession, Tensor, Trainer, adamw, importOnnxModel, loadOnnxFile, loraRewrites, ops as o, type NodeRewrite, type OnnxModel, type Sym } from '../../kernels/index.ts';
import { FIXTURES, readReference } from './importReference.ts';
import { throwsWith } from './util.ts';

const load = (name: string) => loadOnnxFile(new URL(`${name}.onnx`, FIXTURES).pathname);

function feedsOf(name: string): Record<string, Tensor> {
  const ref = readReference(name);
  const feeds: Record<string, Tensor> = Object.create(null);
  for (const [k, v] of Object.entries(ref.inputs)) feeds[k] = new Tensor('float32', v.shape, Float32Array.from(v.values));
  return feeds;
}

/** Runs the import (with rewrites) forward; params fed their initial values (LoRA B = 0, A drawn). */
async function forward(model: OnnxModel, name: string, rewrites: (g: Graph) => NodeRewrite[], fetch = 'y'): Promise<{ values: number[]; params: string[] }> {
  const ref = readReference(name);
  const g = new Graph();
  const inputs: Record<string, Sym> = Object.create(null);
  for (const [k, v] of Object.entries(ref.inputs)) inputs[k] = g.input(k, v.shape);
  const { tensors } = importOnnxModel(g, model, inputs, { params: 'frozen', rewrites: rewrites(g) });
  const feeds = feedsOf(name);
  for (const [p, info] of g.params) {
    const n = info.shape.reduce((a, b) => a * b, 1);
    // Import weights by value; LoRA A non-zero (so only B = 0 keeps the output), B as initialised (zeros).
    feeds[p] = info.init.kind === 'values' ? info.init.tensor : new Tensor('float32', [...info.shape], Float32Array.from({ length: n }, (_, i) => (info.init.kind === 'constant' ? info.init.value : Math.sin(i + 1) * 0.1)));
  }
  const session = await KernelSession.create(g.toModel({ y: tensors[fetch]! }));
  try {
    return { values: (await session.run(feeds)).y!.toArray(), params: [...g.params.keys()] };
  } finally {
    await session.release();
  }
}

test('LoRA with B = 0 on the DiT export (MatMul through Transpose, Gemm) reproduces the exported outputs exactly', async () => {
  const m = await load('dit_block_op17');
  const plain = await forward(m, 'dit_block_op17', () => []);
  const lora = await forward(m, 'dit_block_op17', (g) => loraRewrites(g, { targets: ['qkv', 'proj', 'mlp.*', 't_mlp.2'], rank: 2 }));
  assert.equal(lora.values, plain.values);
  assert.equal(lora.params.filter((p) => p.startsWith('lora.')).sort(), ['lora.mlp.0.A', 'lora.mlp.0.B', 'lora.mlp.2.A', 'lora.mlp.2.B', 'lora.proj.A', 'lora.proj.B', 'lora.qkv.A', 'lora.qkv.B', 'lora.t_mlp.2.A', 'lora.t_mlp.2.B']);
});

test('LoRA targets folded (renamed, transposed) weights by their PyTorch name, and wraps Conv', async () => {
  const folded = await load('dit_block_op17_folded');
  const a = await forward(folded, 'dit_block_op17_folded', () => []);
  const b = await forward(folded, 'dit_block_op17_folded', (g) => loraRewrites(g, { targets: ['qkv.weight', /^mlp\.2$/], rank: 3 }));
  assert.equal(b.values, a.values);
  assert.ok(b.params.includes('lora.qkv.A') && b.params.includes('lora.mlp.2.B'));
  const gn = await load('groupnorm_resize_op17');
  const c = await forward(gn, 'groupnorm_resize_op17', () => []);
  const d = await forward(gn, 'groupnorm_resize_op17', (g) => loraRewrites(g, { targets: ['conv'], rank: 2 }));
  assert.equal(d.values, c.values);
  assert.ok(d.params.includes('lora.conv.A'));
});

test('a LoRA-wrapped import trains with AdamW: loss goes down, only LoRA params move', async () => {
  const m = await load('dit_block_op17');
  const ref = readReference('dit_block_op17');
  const target = new Tensor('float32', ref.output.shape, Float32Array.from(ref.output.values, (v, i) => v + Math.sin(i) * 0.5));
  const trainer = await Trainer.create(
    (g) => {
      const { tensors } = importOnnxModel(g, m, { x: g.input('x', ref.inputs.x!.shape), t: g.input('t', ref.inputs.t!.shape) }, { params: 'frozen', rewrites: loraRewrites(g, { targets: ['qkv', 'mlp.*'], rank: 4 }) });
      return { loss: tensors.y!.sub(g.input('target', ref.output.shape)).square().mean() };
    },
    { optimizer: adamw({ lr: 1e-2, weightDecay: 0 }), seed: 3 },
  );
  assert.equal(trainer.layout.trainable.map((s) => s.name).sort(), ['lora.mlp.0.A', 'lora.mlp.0.B', 'lora.mlp.2.A', 'lora.mlp.2.B', 'lora.qkv.A', 'lora.qkv.B']);
  const feeds = { ...feedsOf('dit_block_op17'), target };
  const frozenBefore = trainer.getParams()['qkv.weight']!.toArray();
  const first = (await trainer.step(feeds)).loss;
  let last = first;
  for (let i = 0; i < 15; i++) last = (await trainer.step(feeds)).loss;
  assert.ok(last < first * 0.9, `loss ${first} → ${last}`);
  assert.equal(trainer.getParams()['qkv.weight']!.toArray(), frozenBefore);
  assert.ok(trainer.getParams()['lora.qkv.B']!.toArray().some((v) => v !== 0), 'LoRA B moved');
});

test('rewrites by name: a mask on attention logits changes the softmax, a tap records q·kᵀ; a shape change is refused', async () => {
  const m = await load('dit_block_op17');
  let tapped: Sym | undefined;
  // Logits [b, heads, n, n]: mask out key 0 for every query.
  const masked = await forward(
    m,
    'dit_block_op17',
    () => [
      { match: '/MatMul', rewrite: (out) => ((tapped = out), out) },
      {
        match: /^\/Mul_8_output_0$/,
        rewrite: (out) => out.add(o.reshape(out.graph.constant(new Tensor('float32', [5], Float32Array.from([-1e9, 0, 0, 0, 0]))), [1, 1, 1, 5])),
      },
    ],
    '/Softmax_output_0',
  );
  assert.equal(tapped!.shape, [2, 2, 5, 5]);
  for (let i = 0; i < masked.values.length; i += 5) assert.ok(masked.values[i]! < 1e-12, `attention to key 0 is masked (${masked.values[i]})`);
  const plain = await forward(m, 'dit_block_op17', () => [], '/Softmax_output_0');
  assert.ok(plain.values.filter((_, i) => i % 5 === 0).every((v) => v > 1e-6));
  const g = new Graph();
  throwsWith(
    () => importOnnxModel(g, m, { x: g.input('x', [2, 5, 16]), t: g.input('t', [2]) }, { rewrites: [{ match: '/Softmax_output_0', rewrite: (out) => o.sum(out, [3], true) }] }),
    /rewrite '\/Softmax_output_0' turned '\/Softmax_output_0' float32\[2, 2, 5, 5\] into float32\[2, 2, 5, 1\]; a rewrite must keep shape and dtype/,
  );
});

test('names that match nothing are errors listing close names (rewrites and LoRA targets)', async () => {
  const m = await load('dit_block_op17');
  const run = (rewrites: (g: Graph) => NodeRewrite[]) => () => {
    const g = new Graph();
    importOnnxModel(g, m, { x: g.input('x', [2, 5, 16]), t: g.input('t', [2]) }, { params: 'frozen', rewrites: rewrites(g) });
  };
  throwsWith(run((g) => loraRewrites(g, { targets: ['qvk', 'mlp.*'], rank: 2 })), /'lora target qvk' matches no node output \(\d+ candidates\); (close|some) names: .*qkv/);
  throwsWith(run(() => [{ match: '/Softmax_output', rewrite: (x) => x }]), /'\/Softmax_output' matches no node output .*close names: .*\/Softmax_output_0/);
  throwsWith(run((g) => loraRewrites(g, { targets: ['norm1'], rank: 2 })), /'lora target norm1' matches no node output/);
  throwsWith(run((g) => loraRewrites(g, { targets: ['qkv'], rank: 0 })), /rank must be a positive integer/);
});

test.run();
