/**
 * Benchmark (not a test): one-graph transformer-block training step vs an ORT MatMul 1024³
 * ceiling and vs PyTorch eager, measured in the same run, alternating sides.
 *
 *   bash bench/kernels/run.sh            # installs python3-torch + OpenBLAS if missing, then runs this
 *   node --import tsx bench/kernels/transformerStep.ts [--steps 150] [--per 10] [--threads 2] [--no-torch] [--no-spin]
 *
 * --steps: measured steps per side; --per: steps per side in each alternation cycle.
 */
import { fileURLToPath } from 'node:url';
import { Graph, KernelSession, Tensor, Trainer, adamw, transformerBlock, transformerBlockParams, weightedMSE } from '../../kernels/index.ts';
import { encodeModel } from '../../kernels/onnx/encodeModel.ts';
import { buildStepGraph } from '../../kernels/train/buildStep.ts';
import { startTorchServer } from './torchServer.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const STEPS = arg('steps', 150);
const PER = arg('per', 10);
const THREADS = arg('threads', 2);
const NO_TORCH = process.argv.includes('--no-torch');
const SPIN = !process.argv.includes('--no-spin');
const B = 4;
const T = 512;
const D = 128;
const H = 4;
const HID = 512;

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// Forward matmul FLOPs of the block; a training step is counted as 3× forward (PyTorch convention).
const fwdFlops = 2 * B * T * D * 3 * D + 2 * 2 * B * T * T * D + 2 * B * T * D * D + 2 * 2 * B * T * D * HID;
const stepFlops = 3 * fwdFlops;

function block(g: Graph) {
  const x = g.input('x', [B, T, D]);
  const y = g.input('y', [B, T, D]);
  const p = transformerBlockParams(g, 'blk', D, HID);
  const { out } = transformerBlock(x, p, { heads: H });
  return { loss: weightedMSE(out, y) };
}

function fill(n: number, k: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.5);
}

/** A MatMul 1024³ session; `measure(n)` returns n run times (ms). Kept alive to interleave with steps. */
async function matmulSession() {
  const g = new Graph();
  const a = g.input('a', [1024, 1024]);
  const b = g.input('b', [1024, 1024]);
  const s = await KernelSession.create(g.toModel({ c: a.matmul(b) }), { threads: THREADS, spin: SPIN });
  const feeds = { a: new Tensor('float32', [1024, 1024], fill(1 << 20, 0.1)), b: new Tensor('float32', [1024, 1024], fill(1 << 20, 0.2)) };
  for (let i = 0; i < 3; i++) await s.runOrt(feeds, ['c']);
  return async (n: number) => {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await s.runOrt(feeds, ['c']);
      times.push(performance.now() - t0);
    }
    return times;
  };
}

async function tinyOverhead(): Promise<number> {
  const g = new Graph();
  const a = g.input('a', [4]);
  const s = await KernelSession.create(g.toModel({ c: a.add(a) }), { threads: 1 });
  const feeds = { a: Tensor.from([1, 2, 3, 4]) };
  const times: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    await s.runOrt(feeds, ['c']);
    times.push(performance.now() - t0);
  }
  return median(times.slice(200)) * 1000;
}

/** A persistent PyTorch process answering "run N steps" requests, so both sides can alternate often. */
async function startTorch() {
  const s = await startTorchServer(fileURLToPath(new URL('./torch_block.py', import.meta.url)), [String(THREADS)]);
  if (!s) console.error('torch process failed to start (see stderr above)');
  return s;
}

const matmul = await matmulSession();
console.log(`session.run overhead, tiny Add graph: median ${(await tinyOverhead()).toFixed(1)} µs`);

const t0 = performance.now();
const built = buildStepGraph(block, { dtype: 'float32', optimizer: adamw({ lr: 1e-3 }) });
const bytes = encodeModel(built.model);
const traceMs = performance.now() - t0;
const t1 = performance.now();
const probe = await KernelSession.create(bytes, { threads: THREADS });
const createMs = performance.now() - t1;
await probe.release();
console.log(`step graph: ${built.model.graph.nodes.length} nodes, ${(bytes.length / 1024).toFixed(0)} KiB; trace+autodiff+encode ${traceMs.toFixed(0)} ms; session creation ${createMs.toFixed(0)} ms`);

const trainer = await Trainer.create(block, { optimizer: adamw({ lr: 1e-3 }), seed: 0, threads: THREADS, spin: SPIN });
const feeds = { x: new Tensor('float32', [B, T, D], fill(B * T * D, 0.013)), y: new Tensor('float32', [B, T, D], fill(B * T * D, 0.029)) };
for (let i = 0; i < 10; i++) await trainer.step(feeds);

// The machine is shared and its load comes in bursts: MatMul runs, our steps and PyTorch's steps
// alternate in short cycles, and the paired per-cycle ratios are reported next to the medians.
const torch = NO_TORCH ? null : await startTorch();
const ours: number[] = [];
const theirs: number[] = [];
const mms: number[] = [];
const cycleRatio: number[] = [];
const cycleSpeedup: number[] = [];
for (let c = 0; c < Math.ceil(STEPS / PER); c++) {
  const rm = await matmul(4);
  const ro: number[] = [];
  for (let i = 0; i < PER; i++) {
    const s0 = performance.now();
    await trainer.step(feeds);
    ro.push(performance.now() - s0);
  }
  mms.push(...rm);
  ours.push(...ro);
  cycleRatio.push(stepFlops / median(ro) / ((2 * 1024 ** 3) / median(rm)));
  if (torch) {
    const rt = await torch.run(PER);
    theirs.push(...rt);
    cycleSpeedup.push(median(rt) / median(ro));
  }
}
torch?.quit();
const q = (v: number[]) => `median ${median(v).toFixed(2)}, range ${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)}`;
const mm = median(mms);
const ceiling = (2 * 1024 ** 3) / (mm / 1000) / 1e9;
console.log(`ORT MatMul 1024³: median ${mm.toFixed(2)} ms = ${ceiling.toFixed(1)} GFLOP/s (${THREADS} threads, ${mms.length} runs interleaved with the steps)`);
const ourMs = median(ours);
const ourGflops = stepFlops / (ourMs / 1000) / 1e9;
console.log(
  `tessera step (B=${B}, T=${T}, D=${D}, ${H} heads, MLP ${HID}, AdamW): median ${ourMs.toFixed(2)} ms over ${ours.length} steps = ${ourGflops.toFixed(1)} GFLOP/s = ${((100 * ourGflops) / ceiling).toFixed(0)} % of the MatMul ceiling; paired per-cycle ratio ${q(cycleRatio.map((r) => 100 * r))} %`,
);
if (torch && theirs.length) {
  const tm = median(theirs);
  console.log(`PyTorch ${torch.info.torch} eager (${torch.info.threads} threads, OpenBLAS core ${torch.info.core}): median ${tm.toFixed(2)} ms over ${theirs.length} steps = ${(stepFlops / (tm / 1000) / 1e9).toFixed(1)} GFLOP/s`);
  console.log(`speed-up vs PyTorch: ${(tm / ourMs).toFixed(2)}× (ratio of medians); paired per-cycle ${q(cycleSpeedup)}×`);
}
await trainer.dispose();
