/**
 * Profiling helper (not a test): runs the benchmark's transformer-block step graph with
 * onnxruntime's profiler and prints where the time goes, by op type and by the slowest nodes.
 *
 *   node --import tsx bench/kernels/profileStep.ts [--steps 20]
 */
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { Graph, Tensor, adamw, transformerBlock, transformerBlockParams, weightedMSE } from '../../kernels/index.ts';
import { encodeModel } from '../../kernels/onnx/encodeModel.ts';
import { ortOptions } from '../../kernels/runtime/KernelSession.ts';
import { buildStepGraph } from '../../kernels/train/buildStep.ts';

const i = process.argv.indexOf('--steps');
const STEPS = i >= 0 ? Number(process.argv[i + 1]) : 20;
const [B, T, D, H, HID] = [4, 512, 128, 4, 512];

function block(g: Graph) {
  const x = g.input('x', [B, T, D]);
  const y = g.input('y', [B, T, D]);
  const p = transformerBlockParams(g, 'blk', D, HID);
  return { loss: weightedMSE(transformerBlock(x, p, { heads: H }).out, y) };
}

const built = buildStepGraph(block, { dtype: 'float32', optimizer: adamw({ lr: 1e-3 }) });
const session = await ort.InferenceSession.create(encodeModel(built.model), {
  ...ortOptions('cpu', {}),
  enableProfiling: true,
  profileFilePrefix: '/tmp/tessera-step-profile',
});
const n = built.layout.trainableSize;
const fill = (len: number, k: number) => Float32Array.from({ length: len }, (_, j) => Math.sin(j * k) * 0.05);
const feeds: Record<string, ort.Tensor> = {
  x: new Tensor('float32', [B, T, D], fill(B * T * D, 0.013)).toOrt(),
  y: new Tensor('float32', [B, T, D], fill(B * T * D, 0.029)).toOrt(),
  'train.params': new Tensor('float32', [n], fill(n, 0.7)).toOrt(),
  'train.m': new Tensor('float32', [n]).toOrt(),
  'train.v': new Tensor('float32', [n]).toOrt(),
  'train.step': Tensor.scalar(0).toOrt(),
  'train.lr': Tensor.scalar(1e-3).toOrt(),
};
for (let s = 0; s < STEPS; s++) await session.run(feeds, ['loss', 'next.params', 'next.m', 'next.v']);
session.endProfiling();
await session.release();
// The node binding does not return the file name: take the newest file with our prefix.
const file = readdirSync('/tmp')
  .filter((f) => f.startsWith('tessera-step-profile') && f.endsWith('.json'))
  .map((f) => join('/tmp', f))
  .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!;
const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
rmSync(file, { force: true });
const byOp = new Map<string, number>();
const byNode = new Map<string, number>();
let total = 0;
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
  const op = e.args?.op_name ?? '?';
  byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
  byNode.set(e.name.replace('_kernel_time', ''), (byNode.get(e.name.replace('_kernel_time', '')) ?? 0) + e.dur);
  total += e.dur;
}
console.log(`kernel time per step: ${(total / STEPS / 1000).toFixed(2)} ms`);
for (const [op, t] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${op.padEnd(22)} ${((100 * t) / total).toFixed(1).padStart(5)} %  ${(t / STEPS / 1000).toFixed(2)} ms`);
console.log('slowest nodes:');
for (const [name, t] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${name.padEnd(40)} ${(t / STEPS / 1000).toFixed(2)} ms`);
