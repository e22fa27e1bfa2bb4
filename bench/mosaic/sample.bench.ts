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

const config = resolveConfig(preset);


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
async function timeOnce(samples: ReturnType<typeof samplesFor>): Promise<Rep> {
  const ticks: number[] = [];
  const t0 = performance.now();
  await eulerSample(model, samples, { steps, seed, batchSize: batch, onStep: () => ticks.push(performance.now()) });
  const wallMs = performance.now() - t0;
  const evals = ticks.length;
  const steadyMs = evals >= 2 ? ((ticks[evals - 1]! - ticks[0]!) * evals) / (evals - 1) : wallMs;
  return { wallMs, steadyMs, setupMs: wallMs - steadyMs };
}

interface Row {
  k: number;
  tokens: number;
  imagesPerSecondInclBuild: number;
  imagesPerSecondSteady: number;
  msPerImageSteady: number;
  msPerEvaluation: number;
  setupMs: number;
  wallMsMedian: number;
  reps: { wallMs: number; steadyMs: number; setupMs: number }[];
}
const rows: Row[] = [];
for (const k of ks) {
  const samples = samplesFor(k);
  const rs: Rep[] = [];
  for (let r = 0; r < reps; r++) rs.push(await timeOnce(samples));
  const wall = median(rs.map((r) => r.wallMs));
  const steady = median(rs.map((r) => r.steadyMs));
  const setup = median(rs.map((r) => r.setupMs));
  const evals = batches * steps;
  rows.push({
    k,
    tokens: tokenLayout(config, k).total,
    imagesPerSecondInclBuild: round(count / (wall / 1000), 3),
    imagesPerSecondSteady: round(count / (steady / 1000), 3),
    msPerImageSteady: round(steady / count, 1),
    msPerEvaluation: round(steady / evals, 1),
    setupMs: Math.round(setup),
    wallMsMedian: Math.round(wall),
    reps: rs.map((r) => ({ wallMs: Math.round(r.wallMs), steadyMs: Math.round(r.steadyMs), setupMs: Math.round(r.setupMs) })),
  });
  console.error(`  K=${k}: ${rows.at(-1)!.imagesPerSecondSteady} images/s steady (load ${loadavg()[0]!.toFixed(2)})`);
}

const pad = (s: string | number, w: number) => String(s).padStart(w);
console.log(`\n${pad('K', 2)} ${pad('tokens', 6)} ${pad('img/s incl. build', 17)} ${pad('img/s steady', 12)} ${pad('ms/img steady', 13)} ${pad('ms/eval', 8)} ${pad('setup ms', 8)}`);
for (const r of rows) {
  console.log(`${pad(r.k, 2)} ${pad(r.tokens, 6)} ${pad(r.imagesPerSecondInclBuild.toFixed(2), 17)} ${pad(r.imagesPerSecondSteady.toFixed(2), 12)} ${pad(r.msPerImageSteady.toFixed(1), 13)} ${pad(r.msPerEvaluation.toFixed(1), 8)} ${pad(r.setupMs, 8)}`);
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
  options: { ks, steps, batch, count, reps, seed, checkpoint: checkpoint ?? null },
  runs: rows,
};
if (jsonPath) {
  writeFileSync(jsonPath, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${jsonPath}`);
}
