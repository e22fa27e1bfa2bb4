/**
 * One MOSAIC training-step case shared by tessera and its PyTorch twin (bench/mosaic/twin_step.py):
 * the `small` step graph a real run trains (benchModel: taps on all blocks, SCAL α 0.4 per
 * reference, MDL β 0.6 on annotated points with JSD; AdamW lr 1e-4, wd 0.01, gradient clip 1),
 * its initial weights, one batch from the training program, and the exact flow-matching noise
 * each step draws in-graph. `writeTwinCase` puts all of it in files the Python side reads, so both
 * sides start from the same bytes. Bench code: the only test that uses it (test/mosaic/twin.test.ts)
 * compares with committed numbers, never with Python.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Graph, Tensor, Trainer, adamw, compile, grad, ops, saveSafetensors, type ModelFn, type Sym, type TrainerOptions } from '../../kernels/index.ts';
import { dims, resolveConfig, type MosaicConfig } from '../../plugins/mosaic/model/MosaicConfig.ts';
import { loadWeights } from '../../plugins/mosaic/model/loadWeights.ts';
import { positionFeatures, timeFeatures } from '../../plugins/mosaic/model/positionFeatures.ts';
import { benchModel, initialWeights, programWithK } from './benchModel.ts';

/** What the twin must reproduce besides the graph: the optimizer and clipping of train.bench.ts. */
export const TWIN_OPTIMIZER = { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, clipGradNorm: 1 } as const;

export interface TwinCaseOptions {
  preset?: string;
  k: number;
  batch: number;
  /** Trainer seed (in-graph noise) and batch seed. */
  seed?: number;
  /** 'bundled': plugins/mosaic/weights/mosaic-small.safetensors (every gate and LoRA branch active); 'init': a Trainer's initialisation (adaLN-zero: most gradients are zero at step 1). */
  weights?: 'bundled' | 'init';
}

export interface TwinCase {
  config: MosaicConfig;
  k: number;
  batch: number;
  seed: number;
  fn: ModelFn;
  feeds: Record<string, Tensor>;
  metrics: string[];
  params: Record<string, Tensor>;
  /** Names of the parameters AdamW decays (the rest: biases, slots, tags, adaLN biases). */
  decay: string[];
  /** Host-computed graph constants: target and reference position features, time features at t = 0. */
  constants: Record<string, Tensor>;
}

const BUNDLED = new URL('../../plugins/mosaic/weights/mosaic-small.safetensors', import.meta.url).pathname;

export function trainerOptions(seed: number, extra: Partial<TrainerOptions> = {}): TrainerOptions {
  const { lr, beta1, beta2, eps, weightDecay, clipGradNorm } = TWIN_OPTIMIZER;
  return { optimizer: adamw({ lr, beta1, beta2, eps, weightDecay }), clipGradNorm, seed, ...extra };
}

export async function twinCase(o: TwinCaseOptions): Promise<TwinCase> {
  const config = resolveConfig(o.preset ?? 'small');
  const seed = o.seed ?? 0;
  const model = benchModel(config);
  const program = programWithK(model, o.k, o.batch, 100);
  const b = program.batch(0, o.batch, seed);
  if (b.variant !== `k${o.k}`) throw new Error(`twin: expected a k${o.k} batch, got ${b.variant}`);
  const feeds: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(b.feeds)) {
    if (!(t instanceof Tensor)) throw new TypeError(`twin: feed '${name}' is not a host tensor`);
    feeds[name] = t.dtype === 'float32' ? t : new Tensor('float32', t.shape, Float32Array.from(t.data as ArrayLike<number>, Number));
  }
  const weights = o.weights ?? 'bundled';
  if (weights === 'bundled' && config.preset !== 'small') throw new RangeError(`twin: the bundled weights are for preset 'small', not '${config.preset}' (use weights 'init')`);
  const params = weights === 'bundled' ? (await loadWeights(BUNDLED, config)).params : (await initialWeights(config, seed)).params;
  const fn = program.modelFn(b.variant, o.batch);
  const decay = declaredDecay(fn);
  const { grid, refGrid } = dims(config);
  const constants = {
    tgt_pos: positionFeatures(grid, grid, config.width),
    ref_pos: positionFeatures(refGrid, refGrid, config.width, grid / refGrid),
    t0_feat: timeFeatures([0], config.width),
  };
  return { config, k: o.k, batch: o.batch, seed, fn, feeds, metrics: [...b.metrics], params, decay, constants };
}

function declaredDecay(fn: ModelFn): string[] {
  const g = new Graph();
  fn(g);
  return [...g.params.values()].filter((p) => p.decay).map((p) => p.name);
}

/** The N(0, 1) noise of the flow-matching step (the graph's first random stream) for one seed value, as the Trainer feeds it. */
export async function stepNoise(c: TwinCase, stepIndex: number): Promise<Tensor> {
  const { n, patchDim } = dims(c.config);
  const g = new Graph();
  const z = ops.randomNormal(g, [c.batch, n, patchDim]);
  const kernel = await compile(g, { z });
  // Trainer.seedTensor: seed · 1 000 003 + the number of steps run so far.
  const out = await kernel.run({ seed: Tensor.scalar(BigInt(c.seed) * 1_000_003n + BigInt(stepIndex), 'int64') });
  return out.z!;
}

export interface TesseraResult {
  /** Per step: loss, its terms and the gradient norm before clipping. */
  steps: Record<string, number>[];
  /** Gradients at the initial parameters and step 0's noise. */
  grads: Record<string, Tensor>;
  /** Parameters after the steps. */
  params: Record<string, Tensor>;
}

/** Gradients of the step's loss at the case's initial parameters (step 0's noise), from tessera's own autodiff on the same model function. */
async function tesseraGrads(c: TwinCase): Promise<Record<string, Tensor>> {
  const g = new Graph();
  const out = c.fn(g);
  const params = [...g.params.values()];
  const grads = grad(out.loss, params.map((p) => p.sym));
  const outputs: Record<string, Sym> = Object.create(null);
  params.forEach((p, i) => (outputs[`grad.${p.name}`] = grads[i]!));
  const kernel = await compile(g, outputs);
  const feeds: Record<string, Tensor> = { seed: Tensor.scalar(BigInt(c.seed) * 1_000_003n, 'int64') };
  const wanted = new Set(kernel.inputs.map((i) => i.name));
  for (const [name, t] of [...Object.entries(c.feeds), ...Object.entries(c.params)]) if (wanted.has(name)) feeds[name] = t;
  const r = await kernel.run(feeds);
  const res: Record<string, Tensor> = {};
  for (const p of params) res[p.name] = r[`grad.${p.name}`]!;
  return res;
}

/** Runs the case in tessera: gradients at the start, then `steps` Trainer steps (the step users run) on the case's batch. */
export async function runTessera(c: TwinCase, steps: number): Promise<TesseraResult> {
  const grads = await tesseraGrads(c);
  const trainer = await Trainer.create(c.fn, trainerOptions(c.seed));
  try {
    trainer.setParams(c.params);
    const rows: Record<string, number>[] = [];
    for (let s = 0; s < steps; s++) {
      const r = await trainer.step(c.feeds, { outputs: c.metrics });
      if (!r.finite) throw new Error(`twin: tessera step ${s} was not finite`);
      const row: Record<string, number> = { loss: r.loss, gradNorm: r.gradNorm };
      for (const m of c.metrics) row[m] = r.outputs[m]!.item();
      rows.push(row);
    }
    return { steps: rows, grads, params: await trainer.readParams() };
  } finally {
    await trainer.dispose();
  }
}

/**
 * Writes the case for the Python twin: `case.json` (config, K, batch, optimizer, decayed names,
 * step count), `params.safetensors` (initial parameters) and `inputs.safetensors` (the batch,
 * the constants as `const.*` and each step's noise as `noise.<s>`).
 */
export async function writeTwinCase(c: TwinCase, dir: string, steps: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const inputs: Record<string, Tensor> = { ...c.feeds };
  for (const [name, t] of Object.entries(c.constants)) inputs[`const.${name}`] = t;
  for (let s = 0; s < steps; s++) inputs[`noise.${s}`] = await stepNoise(c, s);
  await saveSafetensors(join(dir, 'params.safetensors'), c.params);
  await saveSafetensors(join(dir, 'inputs.safetensors'), inputs);
  const meta = { config: c.config, k: c.k, batch: c.batch, seed: c.seed, steps, optimizer: TWIN_OPTIMIZER, decay: c.decay, metrics: c.metrics, tapBlocks: Array.from({ length: c.config.depth }, (_, i) => i) };
  writeFileSync(join(dir, 'case.json'), JSON.stringify(meta, null, 1) + '\n');
}
