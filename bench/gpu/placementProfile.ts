/**
 * The profiling part of the placement report, shared by the CLI (placement.ts) and the packed
 * GPU probe (probe.ts): builds the transformer-block training step, runs it with onnxruntime's
 * profiler on and turns the profile into per-(op type, provider) rows.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Graph, KernelSession, Tensor, adamw, transformerBlock, transformerBlockParams, weightedMSE, type Provider } from '../../kernels/index.ts';
import type { OnnxModel } from '../../kernels/onnx/OnnxModel.ts';
import { buildStepGraph } from '../../kernels/train/buildStep.ts';
import { placementTable, type PlacementRow } from './placementTable.ts';

/** Small enough for a 2-core CPU in seconds; the op mix is the same as bench/kernels/transformerStep.ts. */
export const BLOCK_SHAPE = { B: 2, T: 128, D: 64, H: 4, HID: 256 } as const;

/** The transformer block's training objective (a ModelFn): MSE of one block's output to `y`. */
export function blockStep(g: Graph) {
  const { B, T, D, H, HID } = BLOCK_SHAPE;
  const x = g.input('x', [B, T, D]);
  const y = g.input('y', [B, T, D]);
  const p = transformerBlockParams(g, 'blk', D, HID);
  return { loss: weightedMSE(transformerBlock(x, p, { heads: H }).out, y) };
}

/** Deterministic feeds for every graph input: small sines for floats, zeros otherwise, lr 1e-3. */
export function feedsFor(model: OnnxModel): Record<string, Tensor> {
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

export interface PlacementReport {
  /** The provider asked for. */
  readonly requested: Provider;
  /** The provider the session actually ran on (cpu after a fallback). */
  readonly provider: Provider;
  readonly steps: number;
  readonly shape: typeof BLOCK_SHAPE;
  readonly rows: PlacementRow[];
  /** Nodes of the graph before ORT's optimisation, and how many of each op type. */
  readonly graphNodes: number;
  readonly graphOps: Map<string, number>;
}

/** Profiles `steps` runs of the block's step graph on `provider` (falls back to cpu like every session). */
export async function profilePlacement(provider: Provider, steps: number, threads?: number): Promise<PlacementReport> {
  if (!Number.isInteger(steps) || steps < 1 || steps > 1000) throw new RangeError('placement: steps must be an integer in 1..1000');
  const built = buildStepGraph(blockStep, { dtype: 'float32', optimizer: adamw({ lr: 1e-3 }) });
  const dir = mkdtempSync(join(tmpdir(), 'tessera-placement-'));
  try {
    const session = await KernelSession.create(built.model, { provider, profileFilePrefix: join(dir, 'profile'), ...(threads !== undefined ? { threads } : {}) });
    const feeds = feedsFor(built.model);
    for (let s = 0; s < steps; s++) await session.run(feeds, ['loss']);
    session.session.endProfiling();
    await session.release();
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    if (files.length !== 1) throw new Error(`placement: expected one profile file in ${dir}, found ${files.length}`);
    const rows = placementTable(JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')));
    // Session-initialisation events are not kernels; count graph op types to show fused/elided ones.
    const graphOps = new Map<string, number>();
    for (const n of built.model.graph.nodes) graphOps.set(n.opType, (graphOps.get(n.opType) ?? 0) + 1);
    return { requested: provider, provider: session.provider, steps, shape: BLOCK_SHAPE, rows, graphNodes: built.model.graph.nodes.length, graphOps };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
