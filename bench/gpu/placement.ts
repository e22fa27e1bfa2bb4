/**
 * Placement report (not a test): builds the transformer-block training step graph, runs a few
 * steps with onnxruntime's profiler on, and prints per op type which provider ran it, how many
 * nodes, the kernel time per step and its share. On a machine without a WebGPU adapter the
 * session falls back to cpu (one line on stderr) and every row says CPUExecutionProvider.
 *
 *   node --import tsx bench/gpu/placement.ts [--provider cpu|webgpu|auto] [--steps 5] [--json]
 *
 * Which op types the WebGPU EP lacks is read from the provider column of a run on a machine that
 * has an adapter; this script does not guess it from a list (docs/kernels.md says why).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Graph, KernelSession, Tensor, adamw, transformerBlock, transformerBlockParams, weightedMSE } from '../../kernels/index.ts';
import type { OnnxModel } from '../../kernels/onnx/OnnxModel.ts';
import { buildStepGraph } from '../../kernels/train/buildStep.ts';
import { PROVIDER_SETTINGS, isProviderSetting } from '../../kernels/runtime/provider.ts';
import { formatPlacement, placementTable } from './placementTable.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const setting = arg('provider') ?? 'auto';
if (!isProviderSetting(setting)) {
  process.stderr.write(`placement: --provider must be one of ${PROVIDER_SETTINGS.join(', ')}\n`);
  process.exit(2);
}
const STEPS = Number(arg('steps') ?? 5);
if (!Number.isInteger(STEPS) || STEPS < 1 || STEPS > 1000) {
  process.stderr.write('placement: --steps must be an integer in 1..1000\n');
  process.exit(2);
}
// Small enough for a 2-core CPU in seconds; the op mix is the same as bench/kernels/transformerStep.ts.
const [B, T, D, H, HID] = [2, 128, 64, 4, 256];

function block(g: Graph) {
  const x = g.input('x', [B, T, D]);
  const y = g.input('y', [B, T, D]);
  const p = transformerBlockParams(g, 'blk', D, HID);
  return { loss: weightedMSE(transformerBlock(x, p, { heads: H }).out, y) };
}

/** Deterministic feeds for every graph input: small sines for floats, zeros otherwise, lr 1e-3. */
function feedsFor(model: OnnxModel): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = Object.create(null);
  for (const input of model.graph.inputs) {
    const shape = (input.shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
    const t = Tensor.zeros(shape, input.dtype);
    if (input.name === 'train.lr') (t.data as Float32Array)[0] = 1e-3;
    else if (input.dtype === 'float32' && input.name !== 'train.step' && !/^train\.(m|v)$/.test(input.name)) {
      const data = t.data as Float32Array;
      for (let j = 0; j < data.length; j++) data[j] = Math.sin(j * 0.37 + input.name.length) * 0.05;
    }
    feeds[input.name] = t;
  }
  return feeds;
}

const built = buildStepGraph(block, { dtype: 'float32', optimizer: adamw({ lr: 1e-3 }) });
const dir = mkdtempSync(join(tmpdir(), 'tessera-placement-'));
try {
  const session = await KernelSession.create(built.model, { provider: setting === 'auto' ? 'webgpu' : setting, profileFilePrefix: join(dir, 'profile') });
  const feeds = feedsFor(built.model);
  for (let s = 0; s < STEPS; s++) await session.run(feeds, ['loss']);
  session.session.endProfiling();
  await session.release();
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  if (files.length !== 1) throw new Error(`placement: expected one profile file in ${dir}, found ${files.length}`);
  const rows = placementTable(JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')));
  // Session-initialisation events are not kernels; count graph op types to show fused/elided ones.
  const graphOps = new Map<string, number>();
  for (const n of built.model.graph.nodes) graphOps.set(n.opType, (graphOps.get(n.opType) ?? 0) + 1);
  if (process.argv.includes('--json')) {
    process.stdout.write(JSON.stringify({ requested: setting, provider: session.provider, steps: STEPS, shape: { B, T, D, H, HID }, rows, graphOps: Object.fromEntries(graphOps) }) + '\n');
  } else {
    console.log(`transformer-block step B=${B} T=${T} D=${D} heads=${H} hidden=${HID}; requested ${setting}, session on ${session.provider}; ${STEPS} steps profiled`);
    console.log(`graph before ORT optimisation: ${built.model.graph.nodes.length} nodes, ${graphOps.size} op types`);
    console.log(formatPlacement(rows, STEPS));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
