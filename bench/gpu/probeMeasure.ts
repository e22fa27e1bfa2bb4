/**
 * The packed GPU probe's measurements (bench/gpu/probe.ts runs them, the test calls them in quick
 * sizes). Every row carries the provider asked for and the one the session actually ran on, so a
 * WebGPU request that fell back to cpu is never reported as WebGPU.
 */
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { Graph, Predictor, Tensor, Trainer, adamw, encodeModel, type Provider } from '../../kernels/index.ts';
import type { ModelFn } from '../../kernels/train/buildStep.ts';
import { dims, type MosaicConfig } from '../../plugins/mosaic/model/MosaicConfig.ts';
import { buildBatch, conditionFeeds } from '../../plugins/mosaic/model/mosaicBatch.ts';
import { velocityProgram } from '../../plugins/mosaic/model/mosaicPrograms.ts';
import { timeFeatures } from '../../plugins/mosaic/model/positionFeatures.ts';
import { sampleNoise, timeGrid } from '../../plugins/mosaic/sampling/eulerSample.ts';
import { DEFAULT_CONFIG, generateSample } from '../../plugins/semalign/sample.ts';
import { benchModel, initialWeights, programWithK } from '../mosaic/benchModel.ts';
import { median } from '../mosaic/benchArgs.ts';
import { BLOCK_SHAPE } from './placementProfile.ts';

/** One provider configuration to measure: e.g. webgpu, cpu with 16 threads, cpu with 2. */
export interface RunSpec {
  readonly provider: Provider;
  readonly threads: number;
}

export const runLabel = (r: RunSpec): string => (r.provider === 'cpu' ? `cpu-${r.threads}` : r.provider);

// ---------------------------------------------------------------- (a) provider check

export interface ProviderCheckRow {
  readonly provider: Provider;
  readonly ok: boolean;
  readonly createMs: number | null;
  /** Largest |output − cpu output| on the check model (null when the session did not open). */
  readonly maxAbsErrVsCpu: number | null;
  /** First line of ORT's error when the session did not open. */
  readonly error: string | null;
}

export interface ProviderCheck {
  readonly backends: { name: string; bundled: boolean }[];
  readonly ortVersion: string;
  /** Where onnxruntime-node was loaded from (the carried copy in a packed run). */
  readonly ortFrom: string;
  readonly rows: ProviderCheckRow[];
}

const firstLine = (e: unknown): string => String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 600);

/**
 * Opens a small MatMul→Gelu→LayerNorm→Softmax model with plain onnxruntime on each provider (no
 * tessera fallback in between, so a failure is seen as ORT reports it) and compares to cpu.
 */
export async function providerCheck(providers: readonly Provider[] = ['cpu', 'webgpu']): Promise<ProviderCheck> {
  const g = new Graph();
  const x = g.input('x', [8, 64]);
  const w = g.input('w', [64, 64]);
  const bytes = encodeModel(g.toModel({ h: x.matmul(w).gelu().softmax() }));
  const fill = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.5);
  const feeds = { x: new ort.Tensor('float32', fill(512, 0.3), [8, 64]), w: new ort.Tensor('float32', fill(4096, 0.7), [64, 64]) };
  const opts = (p: Provider): ort.InferenceSession.SessionOptions => ({ executionProviders: [p], intraOpNumThreads: 2, logSeverityLevel: 3 });
  const runOn = async (p: Provider) => {
    const t0 = performance.now();
    const s = await ort.InferenceSession.create(bytes, opts(p));
    const createMs = performance.now() - t0;
    try {
      return { createMs, h: (await s.run(feeds)).h!.data as Float32Array };
    } finally {
      await s.release();
    }
  };
  const ref = (await runOn('cpu')).h;
  const rows: ProviderCheckRow[] = [];
  for (const p of providers) {
    try {
      const r = await runOn(p);
      let err = 0;
      for (let i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(r.h[i]! - ref[i]!));
      rows.push({ provider: p, ok: true, createMs: Math.round(r.createMs), maxAbsErrVsCpu: err, error: null });
    } catch (e) {
      rows.push({ provider: p, ok: false, createMs: null, maxAbsErrVsCpu: null, error: firstLine(e) });
    }
  }
  const backends = (ort.listSupportedBackends?.() ?? []).map((b) => ({ name: String(b.name), bundled: Boolean(b.bundled) }));
  let ortFrom = '?';
  try {
    ortFrom = fileURLToPath(import.meta.resolve('onnxruntime-node'));
  } catch {
    // import.meta.resolve is missing under some loaders; the path is informational only.
  }
  return { backends, ortVersion: String(ort.env.versions?.node ?? '?'), ortFrom, rows };
}

// ---------------------------------------------------------------- training runs

export interface TrainRun {
  readonly requested: Provider;
  /** The provider the step session ran on (cpu after a fallback). */
  readonly provider: Provider;
  readonly threads: number;
  readonly buildMs: number;
  /** Wall ms of every `trainer.step`, warm-up included. */
  readonly stepMs: number[];
  /** Loss of every step, from the first. */
  readonly losses: number[];
  /** True when the run stopped at its time cap before all steps. */
  readonly capped: boolean;
}

/** A step's feeds (and the model outputs to fetch) for step index s. */
export type BatchAt = (s: number) => { feeds: Record<string, Tensor>; outputs?: readonly string[] };

/**
 * Builds a Trainer for `fn` on `run` and takes `steps` steps from the same initialisation (seed 0,
 * AdamW lr 1e-4, grad clip 1), stopping early once `capMs` of stepping has passed.
 */
export async function trainRun(fn: ModelFn, batchAt: BatchAt, run: RunSpec, steps: number, capMs = Infinity): Promise<TrainRun> {
  const t0 = performance.now();
  const trainer = await Trainer.create(fn, { optimizer: adamw({ lr: 1e-4 }), clipGradNorm: 1, seed: 0, provider: run.provider, threads: run.threads });
  const buildMs = performance.now() - t0;
  const stepMs: number[] = [];
  const losses: number[] = [];
  let capped = false;
  try {
    const start = performance.now();
    for (let s = 0; s < steps; s++) {
      if (performance.now() - start > capMs) {
        capped = true;
        break;
      }
      const b = batchAt(s);
      const a = performance.now();
      const r = await trainer.step(b.feeds, b.outputs ? { outputs: b.outputs } : {});
      stepMs.push(performance.now() - a);
      losses.push(r.loss);
    }
    return { requested: run.provider, provider: trainer.provider, threads: run.threads, buildMs, stepMs, losses, capped };
  } finally {
    await trainer.dispose();
  }
}

/** The transformer block's fixed batch (same shapes as the placement report). */
export function blockBatch(): BatchAt {
  const { B, T, D } = BLOCK_SHAPE;
  const sines = (k: number) => new Tensor('float32', [B, T, D], Float32Array.from({ length: B * T * D }, (_, j) => Math.sin(j * k) * 0.5));
  const feeds = { x: sines(0.013), y: sines(0.029) };
  return () => ({ feeds });
}

/** MOSAIC `config` at K references: the step graph and its batches (batch size `batch`). */
export function mosaicCase(config: MosaicConfig, k: number, batch: number, steps: number): { fn: ModelFn; batchAt: BatchAt } {
  const program = programWithK(benchModel(config), k, batch, steps);
  const variant = `k${k}`;
  return {
    fn: program.modelFn(variant, batch),
    batchAt: (s) => {
      const b = program.batch(s, batch, 0);
      if (b.variant !== variant) throw new Error(`probe: expected a ${variant} batch, got ${b.variant}`);
      return { feeds: b.feeds as Record<string, Tensor>, outputs: b.metrics };
    },
  };
}

// ---------------------------------------------------------------- timing rows

export interface TimingRow {
  readonly section: 'block-step' | 'mosaic-step' | 'sampling';
  /** MOSAIC references (null for the block). */
  readonly k: number | null;
  readonly label: string;
  readonly requested: Provider;
  readonly provider: Provider;
  /** requested ≠ provider: the numbers are cpu's, not the requested provider's. */
  readonly fellBack: boolean;
  readonly threads: number;
  readonly buildMs: number;
  /** Timed units: training steps after the warm-up, or Euler evaluations. */
  readonly n: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** Sampling only: images per second over the timed Euler loop. */
  readonly imagesPerSecond: number | null;
  readonly capped: boolean;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/** A training run's timing row; the first `warmup` steps are not timed. */
export function stepRow(section: 'block-step' | 'mosaic-step', k: number | null, run: TrainRun, warmup: number): TimingRow {
  const timed = run.stepMs.slice(warmup);
  const ms = timed.length ? timed : run.stepMs;
  return {
    section,
    k,
    label: runLabel({ provider: run.requested, threads: run.threads }),
    requested: run.requested,
    provider: run.provider,
    fellBack: run.requested !== run.provider,
    threads: run.threads,
    buildMs: Math.round(run.buildMs),
    n: timed.length,
    medianMs: r2(ms.length ? median(ms) : NaN),
    minMs: r2(Math.min(...ms)),
    maxMs: r2(Math.max(...ms)),
    imagesPerSecond: null,
    capped: run.capped,
  };
}

// ---------------------------------------------------------------- (e) sampling

/** Untrained MOSAIC weights (the Trainer's seed-0 initialisation; sampling cost does not depend on them). */
export const mosaicWeights = (config: MosaicConfig): Promise<Record<string, Tensor>> => initialWeights(config, 0).then((w) => w.params as Record<string, Tensor>);

/**
 * Images/s of Euler sampling: `count` validation samples with K references in one batch, one
 * untimed evaluation first, then `eulerSteps` evaluations timed. eulerSample takes no session
 * options (provider, threads), so the loop is its Euler update over a Predictor opened here.
 */
export async function samplingRow(config: MosaicConfig, params: Record<string, Tensor>, k: number, count: number, eulerSteps: number, run: RunSpec): Promise<TimingRow> {
  if (config.space !== 'pixel') throw new Error('probe: sampling is measured for pixel-space presets only');
  const { n, patchDim } = dims(config);
  const tok = n * patchDim;
  const samples = Array.from({ length: count }, (_, i) => generateSample({ ...DEFAULT_CONFIG, kMax: 8 }, { split: 'val', index: i, k }));
  const cond = conditionFeeds(buildBatch(samples, config));
  const t0 = performance.now();
  const predictor = await Predictor.create(velocityProgram(config, k, count, []), params, { provider: run.provider, threads: run.threads });
  const buildMs = performance.now() - t0;
  try {
    const x = new Float32Array(count * tok);
    samples.forEach((s, i) => sampleNoise(0, s.annotation.id, tok, x, i * tok));
    const velocity = async (t: number) => (await predictor.run({ xt: new Tensor('float32', [count, n, patchDim], x), tfeat: timeFeatures(new Float64Array(count).fill(t), config.width), ...cond }, ['velocity'])).velocity!.data as Float32Array;
    await velocity(1); // first run of a fresh session: allocations, kernel compilation
    const ts = timeGrid(eulerSteps);
    const evalMs: number[] = [];
    const loop0 = performance.now();
    for (let i = 0; i < eulerSteps; i++) {
      const a = performance.now();
      const v = await velocity(ts[i]!);
      evalMs.push(performance.now() - a);
      const dt = ts[i]! - ts[i + 1]!;
      for (let j = 0; j < x.length; j++) x[j] = x[j]! - dt * v[j]!;
    }
    const loopMs = performance.now() - loop0;
    return {
      section: 'sampling',
      k,
      label: runLabel(run),
      requested: run.provider,
      provider: predictor.provider,
      fellBack: run.provider !== predictor.provider,
      threads: run.threads,
      buildMs: Math.round(buildMs),
      n: evalMs.length,
      medianMs: r2(median(evalMs)),
      minMs: r2(Math.min(...evalMs)),
      maxMs: r2(Math.max(...evalMs)),
      imagesPerSecond: Math.round((count / (loopMs / 1000)) * 1000) / 1000,
      capped: false,
    };
  } finally {
    await predictor.dispose();
  }
}
