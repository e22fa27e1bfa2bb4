/**
 * The packed GPU probe's sequence: provider check, block step (timings + losses), placement,
 * sampling, MOSAIC steps per K; the loss-agreement cases are built from the recorded runs.
 * After every section the partial result goes to `onProgress`, so a run killed by its time limit
 * still leaves what it measured.
 */
import { availableParallelism, cpus } from 'node:os';
import type { Provider } from '../../kernels/index.ts';
import { resolveConfig } from '../../plugins/mosaic/model/MosaicConfig.ts';
import { LOSS_TOLERANCE, lossCase, type LossCase } from './lossAgreement.ts';
import { blockStep, profilePlacement } from './placementProfile.ts';
import type { PlacementRow } from './placementTable.ts';
import { blockBatch, mosaicCase, mosaicWeights, providerCheck, samplingRow, stepRow, trainRun, type ProviderCheck, type RunSpec, type TimingRow, type TrainRun } from './probeMeasure.ts';

export const PROBE_FORMAT = 'tessera-gpu-probe/1';

export interface ProbeSizes {
  readonly preset: string;
  readonly ks: readonly number[];
  readonly mosaicBatch: number;
  readonly warmup: number;
  /** Timed steps per training run (after the warm-up). */
  readonly steps: number;
  /** Losses compared per correctness case (≤ warmup + steps). */
  readonly lossSteps: number;
  readonly placementSteps: number;
  readonly sampleCount: number;
  readonly eulerSteps: number;
  /** A training run stops stepping after this long (its row says capped). */
  readonly runCapMs: number;
  /** Sections not started once this much time has passed (they are listed as skipped). */
  readonly deadlineMs: number;
}

/** Full sizes for the device; quick ones make a dry run on a 2-core machine take about a minute. */
export function probeSizes(quick: boolean): ProbeSizes {
  return quick
    ? { preset: 'tiny', ks: [2, 4, 6], mosaicBatch: 2, warmup: 1, steps: 3, lossSteps: 4, placementSteps: 2, sampleCount: 2, eulerSteps: 3, runCapMs: 30_000, deadlineMs: 100_000 }
    : { preset: 'small', ks: [2, 4, 6], mosaicBatch: 4, warmup: 3, steps: 20, lossSteps: 20, placementSteps: 5, sampleCount: 8, eulerSteps: 10, runCapMs: 45_000, deadlineMs: 300_000 };
}

export interface ProbeOptions {
  /** The provider under test (auto = webgpu, kept as cpu when it fails). */
  readonly provider: 'webgpu' | 'cpu' | 'auto';
  /** Threads of the cpu reference (and of the provider under test, for its cpu-placed nodes). */
  readonly threads: number;
  readonly quick: boolean;
  readonly sizes?: ProbeSizes;
  /** Sections to run (default all, in SECTIONS order whatever the order given). */
  readonly sections?: readonly Section[];
}

/** In the order they run: sampling (cheap) before the MOSAIC steps, so a deadline cuts the long part. */
export const SECTIONS = ['provider', 'block', 'placement', 'sampling', 'mosaic'] as const;
export type Section = (typeof SECTIONS)[number];

export interface PlacementSection {
  readonly requested: Provider;
  readonly provider: Provider;
  readonly fellBack: boolean;
  readonly steps: number;
  readonly graphNodes: number;
  /** [op type, nodes] of the graph before ORT's optimisation. */
  readonly graphOps: [string, number][];
  readonly rows: PlacementRow[];
}

export interface ProbeResult {
  readonly format: typeof PROBE_FORMAT;
  readonly date: string;
  readonly quick: boolean;
  readonly requested: ProbeOptions['provider'];
  readonly threads: number;
  readonly sizes: ProbeSizes;
  readonly machine: { cpu: string; cores: number; node: string; platform: string; vkDriverFiles: string | null; eglVendorFiles: string | null };
  providerCheck: ProviderCheck | null;
  placement: PlacementSection | null;
  readonly timings: TimingRow[];
  readonly correctness: LossCase[];
  readonly tolerance: typeof LOSS_TOLERANCE;
  readonly sectionsDone: Section[];
  readonly skipped: { section: Section; why: string }[];
  /** False until every section asked for has finished (a partial file from a killed run says false). */
  complete: boolean;
  elapsedMs: number;
}

const asLossRun = (r: TrainRun) => ({ requested: r.requested, provider: r.provider, threads: r.threads, losses: r.losses });

/** Runs the probe; `onProgress` gets the partial result after every section (e.g. to write it). */
export async function runProbe(o: ProbeOptions, onProgress: (r: ProbeResult) => Promise<void> = async () => {}, log: (line: string) => void = () => {}): Promise<ProbeResult> {
  if (!Number.isInteger(o.threads) || o.threads < 1 || o.threads > 256) throw new RangeError('probe: threads must be an integer in 1..256');
  const sizes = o.sizes ?? probeSizes(o.quick);
  if (sizes.lossSteps > sizes.warmup + sizes.steps) throw new RangeError('probe: lossSteps must be ≤ warmup + steps');
  const wanted = new Set<Section>(o.sections ?? SECTIONS);
  const t0 = performance.now();
  const testProvider: Provider = o.provider === 'cpu' ? 'cpu' : 'webgpu';
  const test: RunSpec = { provider: testProvider, threads: o.threads };
  const ref: RunSpec = { provider: 'cpu', threads: o.threads };
  const result: ProbeResult = {
    format: PROBE_FORMAT,
    date: new Date().toISOString(),
    quick: o.quick,
    requested: o.provider,
    threads: o.threads,
    sizes,
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: availableParallelism(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      vkDriverFiles: process.env.VK_DRIVER_FILES ?? null,
      eglVendorFiles: process.env.__EGL_VENDOR_LIBRARY_FILENAMES ?? null,
    },
    providerCheck: null,
    placement: null,
    timings: [],
    correctness: [],
    tolerance: LOSS_TOLERANCE,
    sectionsDone: [],
    skipped: [],
    complete: false,
    elapsedMs: 0,
  };
  const total = sizes.warmup + sizes.steps;
  const section = async (name: Section, body: () => Promise<void>) => {
    if (!wanted.has(name)) return;
    const elapsed = performance.now() - t0;
    if (elapsed > sizes.deadlineMs) {
      result.skipped.push({ section: name, why: `deadline: ${Math.round(elapsed / 1000)} s of ${sizes.deadlineMs / 1000} s spent` });
      log(`probe: ${name} skipped (deadline)`);
      return;
    }
    log(`probe: ${name}…`);
    await body();
    result.sectionsDone.push(name);
    result.elapsedMs = Math.round(performance.now() - t0);
    await onProgress(result);
  };
  /** One training run; `repeat` runs (for determinism) take only lossSteps steps and add no timing row. */
  const timed = async (kind: 'block-step' | 'mosaic-step', k: number | null, fn: Parameters<typeof trainRun>[0], batchAt: Parameters<typeof trainRun>[1], run: RunSpec, repeat = false) => {
    const r = await trainRun(fn, batchAt, run, repeat ? sizes.lossSteps : total, sizes.runCapMs);
    const row = stepRow(kind, k, r, repeat ? 0 : sizes.warmup);
    if (!repeat) result.timings.push(row);
    log(`  ${kind}${k === null ? '' : ` K=${k}`} ${r.requested}→${r.provider} ${r.threads}t: ${row.medianMs} ms/step${repeat ? ' (repeat for determinism)' : ''}`);
    return r;
  };

  await section('provider', async () => {
    result.providerCheck = await providerCheck(['cpu', 'webgpu']);
  });

  await section('block', async () => {
    const batchAt = blockBatch();
    const t = await timed('block-step', null, blockStep, batchAt, test);
    const r = await timed('block-step', null, blockStep, batchAt, ref);
    const r2 = await timed('block-step', null, blockStep, batchAt, { provider: 'cpu', threads: 2 });
    const tAgain = await timed('block-step', null, blockStep, batchAt, test, true);
    const rAgain = await timed('block-step', null, blockStep, batchAt, ref, true);
    result.correctness.push(lossCase('transformer block', sizes.lossSteps, asLossRun(t), asLossRun(r), { test: asLossRun(tAgain), reference: asLossRun(rAgain) }));
    result.correctness.push(lossCase('transformer block, cpu 2 vs cpu threads', sizes.lossSteps, asLossRun(r2), asLossRun(r)));
  });

  await section('placement', async () => {
    const p = await profilePlacement(test.provider, sizes.placementSteps, test.threads);
    result.placement = { requested: p.requested, provider: p.provider, fellBack: p.requested !== p.provider, steps: p.steps, graphNodes: p.graphNodes, graphOps: [...p.graphOps], rows: p.rows };
  });

  const config = resolveConfig(sizes.preset);
  await section('sampling', async () => {
    const params = await mosaicWeights(config);
    for (const k of sizes.ks) {
      for (const run of [test, ref]) {
        const row = await samplingRow(config, params, k, sizes.sampleCount, sizes.eulerSteps, run);
        result.timings.push(row);
        log(`  sampling K=${k} ${row.requested}→${row.provider}: ${row.imagesPerSecond} images/s`);
      }
    }
  });

  await section('mosaic', async () => {
    for (const k of sizes.ks) {
      const c = mosaicCase(config, k, sizes.mosaicBatch, total);
      const t = await timed('mosaic-step', k, c.fn, c.batchAt, test);
      const r = await timed('mosaic-step', k, c.fn, c.batchAt, ref);
      if (k === sizes.ks[0]) {
        const tAgain = await timed('mosaic-step', k, c.fn, c.batchAt, test, true);
        const rAgain = await timed('mosaic-step', k, c.fn, c.batchAt, ref, true);
        result.correctness.push(lossCase(`MOSAIC ${sizes.preset} K=${k}`, sizes.lossSteps, asLossRun(t), asLossRun(r), { test: asLossRun(tAgain), reference: asLossRun(rAgain) }));
      }
    }
  });

  result.complete = result.skipped.length === 0;
  result.elapsedMs = Math.round(performance.now() - t0);
  return result;
}
