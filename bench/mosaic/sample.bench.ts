// MOSAIC sampling speed per K (a benchmark, not a test).
//
//   node --import ./core/loader/register.mjs bench/mosaic/sample.bench.ts [options]
//
//   --preset small        model preset (plugins/mosaic/model/MosaicConfig.ts)
//   --ks 1,2,3,4,5,6      K values
//   --steps 20            Euler steps per image
//   --batch 8             samples per forward pass (eulerSample's batchSize)
//   --count 16            images generated per K per repetition
//   --reps 3              repetitions per K (the median is reported)
//   --checkpoint PATH     weights from a MOSAIC checkpoint (loadWeights); default: a Trainer's initialisation
//   --seed 0              noise / initialisation seed
//   --json PATH           write the results as JSON (e.g. bench/results/mosaic-sample.json)
//   --ref-attention self  override the preset's mask; with 'self' every repetition runs twice,
//                         references cached (eulerSample's default) and not (cacheReferences:
//                         false), alternating which goes first, and both are reported with the
//                         median of the paired per-repetition ratios
//                         (the first batch's reference pass falls in "setup", later batches' in
//                         "steady"; the incl.-build ratio counts every pass and both session builds)
//   --reuse               also time, per K, what the default mask ('target') could reuse: the
//                         reference embedding + block 0's reference Q/K/V projection (the only
//                         work independent of the noisy target), against one whole evaluation
//
// What it measures. Each repetition is one `eulerSample(model, samples, {steps, batchSize})` call
// over `count` SemAlign-Synth validation samples with K references, timed from the call to its
// return. eulerSample builds a private Predictor (an ONNX session) per K group on every call, so
// this wall time includes the session build: "incl. build" images/s = count / wall.
// The steady rate is separated with eulerSample's onStep callback, which fires after every network
// evaluation: the time from the first to the last evaluation covers (evaluations − 1)
// evaluations with the per-batch packing between them, so steady time = that span ×
// evaluations / (evaluations − 1), and "setup" = wall − steady (session build, first-batch
// packing and the extra cost of a fresh session's first run). Steady images/s = count / steady
// time, the rate a long-lived predictor reaches.
// A warm-up call (1 Euler step, K = the first K) runs first so the JIT and the ORT library are
// loaded before timing. With untrained weights the images are noise, but the cost is the same:
// the network is evaluated the same number of times on the same shapes.
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { machine, median, num, opt, round } from './benchArgs.ts';
import { initialWeights } from './benchModel.ts';
import { loadWeights } from '../../plugins/mosaic/model/loadWeights.ts';
import { resolveConfig } from '../../plugins/mosaic/model/MosaicConfig.ts';
import { MosaicModel } from '../../plugins/mosaic/model/MosaicModel.ts';
import { tokenLayout } from '../../plugins/mosaic/model/mosaicNetwork.ts';
import { eulerSample } from '../../plugins/mosaic/sampling/eulerSample.ts';
import { referenceProgram, velocityProgram } from '../../plugins/mosaic/model/mosaicPrograms.ts';
import { Graph, Predictor, Tensor } from '../../kernels/index.ts';
import { DEFAULT_CONFIG, generateSample } from '../../plugins/semalign/sample.ts';

// ---------------------------------------------------------------- options

const ksArg = opt('ks');
const ks = ksArg ? ksArg.split(',').map((s) => Number(s.trim())) : [1, 2, 3, 4, 5, 6];
if (ks.some((k) => !Number.isInteger(k) || k < 1 || k > 8)) throw new RangeError(`--ks must be a comma list of integers in 1…8, got '${ksArg}'`);
const preset = opt('preset') ?? 'small';
const steps = num('steps', 20, 1);
const batch = num('batch', 8, 1);
const count = num('count', 16, 1);
const reps = num('reps', 3, 1);
const seed = num('seed', 0, 0);
const checkpoint = opt('checkpoint');
const jsonPath = opt('json');

const refAttention = opt('ref-attention');
if (refAttention !== undefined && refAttention !== 'self' && refAttention !== 'target') throw new RangeError(`--ref-attention must be 'self' or 'target', got '${refAttention}'`);
const config = resolveConfig(preset, refAttention ? { refAttention } : {});
const compareCache = config.refAttention === 'self';
const reuse = process.argv.includes('--reuse');


// ---------------------------------------------------------------- weights

const startedAt = new Date();
const machineStart = machine();
const weights = checkpoint ? await loadWeights(checkpoint, config) : await initialWeights(config, seed);
const model = new MosaicModel(config).withWeights(weights);
const batches = Math.ceil(count / batch);
console.log(`MOSAIC sampling speed per K — ${model.describe()}`);
console.log(`Euler ${steps} steps, batch ≤ ${batch}, ${count} images per K (${batches} batch${batches > 1 ? 'es' : ''} of ${Math.ceil(count / batches)}), median of ${reps} reps`);
console.log(`machine: ${machineStart.cpu}, ${machineStart.cores} cores, load average ${machineStart.loadavg.join(' ')}; ${startedAt.toISOString()}; node ${process.version}`);

const samplesFor = (k: number) => Array.from({ length: count }, (_, i) => generateSample({ ...DEFAULT_CONFIG, kMax: 8 }, { split: 'val', index: i, k }));

// Warm-up: JIT, onnxruntime loading, the first session build of the process.
await eulerSample(model, samplesFor(ks[0]!).slice(0, Math.min(count, batch)), { steps: 1, seed, batchSize: batch });

interface Rep {
  wallMs: number;
  steadyMs: number;
  setupMs: number;
}
async function timeOnce(samples: ReturnType<typeof samplesFor>, cacheReferences = true): Promise<Rep> {
  const ticks: number[] = [];
  const t0 = performance.now();
  await eulerSample(model, samples, { steps, seed, batchSize: batch, cacheReferences, onStep: () => ticks.push(performance.now()) });
  const wallMs = performance.now() - t0;
  const evals = ticks.length;
  const steadyMs = evals >= 2 ? ((ticks[evals - 1]! - ticks[0]!) * evals) / (evals - 1) : wallMs;
  return { wallMs, steadyMs, setupMs: wallMs - steadyMs };
}

interface Rates {
  imagesPerSecondInclBuild: number;
  imagesPerSecondSteady: number;
  msPerImageSteady: number;
  msPerEvaluation: number;
  setupMs: number;
  wallMsMedian: number;
  reps: { wallMs: number; steadyMs: number; setupMs: number }[];
}
interface Row extends Rates {
  k: number;
  tokens: number;
  /** With --ref-attention self: the same repetitions without the reference cache, and the paired speed-ups. */
  uncached?: Rates;
  speedupSteady?: { median: number; min: number; max: number };
  /** Paired wall-time speed-up, session builds and every reference pass included. */
  speedupInclBuild?: { median: number; min: number; max: number };
  /** With --reuse: what the default mask could cache (see the header). */
  reuse?: { reusableMs: number; evaluationMs: number; share: number };
}
const evals = batches * steps;
function rates(rs: Rep[]): Rates {
  const wall = median(rs.map((r) => r.wallMs));
  const steady = median(rs.map((r) => r.steadyMs));
  return {
    imagesPerSecondInclBuild: round(count / (wall / 1000), 3),
    imagesPerSecondSteady: round(count / (steady / 1000), 3),
    msPerImageSteady: round(steady / count, 1),
    msPerEvaluation: round(steady / evals, 1),
    setupMs: Math.round(median(rs.map((r) => r.setupMs))),
    wallMsMedian: Math.round(wall),
    reps: rs.map((r) => ({ wallMs: Math.round(r.wallMs), steadyMs: Math.round(r.steadyMs), setupMs: Math.round(r.setupMs) })),
  };
}

/**
 * The default mask's reusable work, timed: a depth-1 'self' reference branch computes exactly the
 * reference embedding and block 0's reference Q/K/V (its last block skips attention), the part of
 * a 'target' evaluation that does not depend on x_t; against one whole evaluation, alternating.
 */
async function reusableShare(k: number): Promise<Row['reuse']> {
  const size = Math.ceil(count / batches);
  const target = resolveConfig(preset, { refAttention: 'target' });
  const one = resolveConfig(preset, { refAttention: 'self', depth: 1 });
  const whole = await Predictor.create(velocityProgram(target, k, size), (await initialWeights(target, seed)).params);
  const part = await Predictor.create(referenceProgram(one, k, size), (await initialWeights(one, seed)).params);
  const feeds = (fn: (g: Graph) => unknown) => {
    const g = new Graph();
    fn(g);
    return Object.fromEntries([...g.inputs.values()].map((i) => [i.name, new Tensor('float32', i.shape, new Float32Array(i.shape.reduce((a, b) => a * b, 1)).fill(0.1))]));
  };
  const fw = feeds(velocityProgram(target, k, size));
  const fp = feeds(referenceProgram(one, k, size));
  const tw: number[] = [];
  const tp: number[] = [];
  try {
    for (let i = 0; i < 2 + steps; i++) {
      let a = performance.now();
      await whole.run(fw);
      if (i >= 2) tw.push(performance.now() - a);
      a = performance.now();
      await part.run(fp);
      if (i >= 2) tp.push(performance.now() - a);
    }
  } finally {
    await Promise.all([whole.dispose(), part.dispose()]);
  }
  const reusableMs = median(tp);
  const evaluationMs = median(tw);
  return { reusableMs: round(reusableMs, 2), evaluationMs: round(evaluationMs, 1), share: round(reusableMs / evaluationMs, 4) };
}

const rows: Row[] = [];
for (const k of ks) {
  const samples = samplesFor(k);
  const cached: Rep[] = [];
  const uncached: Rep[] = [];
  const ratios: number[] = [];
  const wallRatios: number[] = [];
  for (let r = 0; r < reps; r++) {
    if (!compareCache) {
      cached.push(await timeOnce(samples));
      continue;
    }
    // Alternate which path goes first, so drift in the machine's load hits both alike.
    for (const c of r % 2 ? [true, false] : [false, true]) (c ? cached : uncached).push(await timeOnce(samples, c));
    ratios.push(uncached.at(-1)!.steadyMs / cached.at(-1)!.steadyMs);
    wallRatios.push(uncached.at(-1)!.wallMs / cached.at(-1)!.wallMs);
  }
  const row: Row = { k, tokens: tokenLayout(config, k).total, ...rates(cached) };
  if (compareCache) {
    row.uncached = rates(uncached);
    const spread = (v: number[]) => ({ median: round(median(v), 3), min: round(Math.min(...v), 3), max: round(Math.max(...v), 3) });
    row.speedupSteady = spread(ratios);
    row.speedupInclBuild = spread(wallRatios);
  }
  if (reuse) row.reuse = await reusableShare(k);
  rows.push(row);
  console.error(`  K=${k}: ${row.imagesPerSecondSteady} images/s steady${row.uncached ? ` cached, ${row.uncached.imagesPerSecondSteady} uncached` : ''} (load ${loadavg()[0]!.toFixed(2)})`);
}

const pad = (s: string | number, w: number) => String(s).padStart(w);
const cols = (r: Rates) => `${pad(r.imagesPerSecondInclBuild.toFixed(2), 17)} ${pad(r.imagesPerSecondSteady.toFixed(2), 12)} ${pad(r.msPerImageSteady.toFixed(1), 13)} ${pad(r.msPerEvaluation.toFixed(1), 8)} ${pad(r.setupMs, 8)}`;
console.log(`\n${pad('K', 2)} ${pad('tokens', 6)} ${compareCache ? 'path     ' : ''}${pad('img/s incl. build', 17)} ${pad('img/s steady', 12)} ${pad('ms/img steady', 13)} ${pad('ms/eval', 8)} ${pad('setup ms', 8)}${compareCache ? '  speed-up steady / incl. build (paired medians)' : ''}`);
for (const r of rows) {
  if (!r.uncached) {
    console.log(`${pad(r.k, 2)} ${pad(r.tokens, 6)} ${cols(r)}`);
    continue;
  }
  console.log(`${pad(r.k, 2)} ${pad(r.tokens, 6)} uncached ${cols(r.uncached)}`);
  console.log(`${pad('', 2)} ${pad('', 6)} cached   ${cols(r)}  ${r.speedupSteady!.median.toFixed(2)}× (${r.speedupSteady!.min.toFixed(2)}–${r.speedupSteady!.max.toFixed(2)}) / ${r.speedupInclBuild!.median.toFixed(2)}×`);
}
if (reuse) {
  console.log(`\nwhat the default mask ('target') could cache: reference embedding + block 0's reference Q/K/V, timed against one whole evaluation (batch ${Math.ceil(count / batches)})`);
  for (const r of rows) console.log(`${pad(r.k, 2)} ${pad(r.reuse!.reusableMs.toFixed(2), 8)} ms of ${pad(r.reuse!.evaluationMs.toFixed(1), 7)} ms = ${(100 * r.reuse!.share).toFixed(1)} % → at most ${(1 / (1 - r.reuse!.share)).toFixed(3)}× per evaluation`);
}
const machineEnd = machine();
console.log(`\nms/eval: one network evaluation of a batch of ${Math.ceil(count / batches)}; setup: session build + first-batch packing + first-run overhead per call (eulerSample builds its predictor per call)`);
console.log(`load average at the end: ${machineEnd.loadavg.join(' ')}`);

const result = {
  bench: 'mosaic-sample',
  date: startedAt.toISOString(),
  machine: { ...machineStart, loadavgEnd: machineEnd.loadavg },
  node: process.version,
  preset,
  config,
  weights: weights.source,
  options: { ks, steps, batch, count, reps, seed, checkpoint: checkpoint ?? null, refAttention: config.refAttention, reuse },
  runs: rows,
};
if (jsonPath) {
  writeFileSync(jsonPath, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${jsonPath}`);
}
