/**
 * The four-arm MOSAIC ablation: no alignment loss / SCAL / MDL / SCAL + MDL, each trained from
 * graphs/mosaic-train.json with the same data and steps at several training seeds (only the loss
 * nodes wired into Train differ), then sampled and scored on held-out test identities at K = 1..6.
 *
 *   node --import ./core/loader/register.mjs bench/mosaic/ablation.ts --out runs/ablation [--steps N] [--arms none,scal,mdl,full[,mdl-paper,mdl-code]] [--seeds 0,1,2] [--eval 384] [--resamples 2000] [--train graphs/mosaic-train.json] [--generate graphs/mosaic-v1-generate.json]
 *
 * `--train` / `--generate` pick the training and evaluation graphs (v1 pixel model: the defaults,
 * graphs/mosaic-train.json and graphs/mosaic-v1-generate.json; MOSAIC v2: --train
 * graphs/mosaic-v2-train.json, evaluated with graphs/mosaic-generate.json). The training graph
 * must have nodes `attention`, `scal`, `mdl` and `train` (armGraph rewires them) and write
 * `train/weights.safetensors`; the generate graph's `model` node takes it as its checkpoint.
 *
 * Resumable: every (arm, seed) trains into <out>/<arm>-s<seed> and is evaluated into
 * <out>/<arm>-s<seed>-eval<N>; a finished training run or evaluation whose recorded graph equals
 * what would run now (bench/mosaic/recordedRun.ts) is skipped, an interrupted training resumes from
 * its checkpoints, a folder holding a run of other settings is refused with an error, and an
 * evaluation older than its weights reruns. Run it as often as needed:
 * each invocation does what is missing, then rebuilds the tables from everything on disk.
 *
 * Tables: per metric, arms and the model-free baselines/chance levels as rows, K as columns,
 * "mean [95 % CI]" from a paired bootstrap clustered by sample (plugins/metrics/bootstrap.ts;
 * seeds averaged within each resample); bold only where the CI of the difference to the
 * reference arm (--reference, default none) excludes 0.
 *
 * After training, each arm's final weights are evaluated with the generate graph on
 * `--eval` held-out test samples (K = 1..6, same samples and sampling seed for every arm); the
 * tables use that evaluation (0: use the 96-sample evaluation inside each training run).
 *
 * Each arm runs as `tessera run` in a child process (its own run directory and checkpoint
 * folder; `--allow-outside-workspace`, since --out names where they go, and a checkout of a fixed
 * commit elsewhere can write into a lasting runs folder). Writes <out>/ablation.json, <out>/ablation.md and one
 * SVG per metric (arms against K).
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { machineLine, opt, runLogged, tailMeans } from './benchArgs.ts';
import { isReusable, refuseDifferentRun } from './recordedRun.ts';
import { compareArms, COMPARED, metricMarkdown } from '../../plugins/metrics/index.ts';
import { comparedArms, type MetricsJson } from './armTable.ts';
import { ARMS, armGraph, type ArmName, type Graph } from './armGraph.ts';

const METRICS = [
  ['retrievalAcc', 'identity retrieval (↑)'],
  ['identityPsnr', 'identity PSNR dB (↑)'],
  ['subjectSsim', 'subject SSIM (↑)'],
  ['edgeCorr', 'edge correlation (↑)'],
  ['descriptorCos', 'descriptor cosine (↑)'],
  ['colorLeak', 'color leakage (↓)'],
  ['textureLeak', 'texture leakage (↓)'],
  ['pck@1', 'PCK@1 (↑)'],
] as const;

const out = resolve(opt('out') ?? 'runs/ablation');
const arms = (opt('arms') ?? 'none,scal,mdl,full').split(',') as ArmName[];
const seeds = (opt('seeds') ?? '0,1,2').split(',').map(Number);
if (seeds.some((x) => !Number.isInteger(x) || x < 0)) throw new RangeError(`--seeds must be non-negative integers, got '${opt('seeds')}'`);
const reference = (opt('reference') ?? arms[0]!) as ArmName;
if (!arms.includes(reference)) throw new RangeError(`--reference ${reference} is not among --arms ${arms.join(',')}`);
const resamples = Number(opt('resamples') ?? '2000');
const trainGraph = opt('train') ?? 'graphs/mosaic-train.json';
const generateGraph = opt('generate') ?? (trainGraph === 'graphs/mosaic-train.json' ? 'graphs/mosaic-v1-generate.json' : 'graphs/mosaic-generate.json');
const base = JSON.parse(await readFile(trainGraph, 'utf8')) as Graph;
const steps = Number(opt('steps') ?? String(base.nodes.train!.params!.steps));
const evalCount = Number(opt('eval') ?? '384');
await mkdir(out, { recursive: true });

interface RunResult { arm: ArmName; seed: number; seconds: number | null; evalSeconds: number | null; trainSeconds: number | null; samplesPerSecond: number | null; perK: { k: number; samples: number; chance: number | null; means: Record<string, number | null> }[]; finalLoss: Record<string, number> }

/** Trains (or reuses, or resumes) one arm at one seed and evaluates it; returns its results. */
async function runOne(arm: ArmName, seed: number): Promise<{ result: RunResult; metrics: MetricsJson }> {
  const name = `${arm}-s${seed}`;
  const dir = join(out, name);
  const file = join(out, `${arm}.graph.json`);
  await writeFile(file, JSON.stringify(armGraph(base, arm), null, 2) + '\n');
  type Summary = { steps?: number; seconds?: number; samplesPerSecond?: number };
  const readSummary = async (): Promise<Summary | null> => {
    const runJson = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as { status?: string; results?: Record<string, Record<string, unknown>> };
    // "done" (schemas/run-record.schema.json); "run:done" in records of older versions.
    return runJson.status === 'done' || runJson.status === 'run:done' ? ((runJson.results?.train?.summary as Summary) ?? {}) : null;
  };
  const sets = [`train.checkpointDir=${join(out, `${name}-ckpt`)}`, `train.steps=${steps}`, `train.seed=${seed}`];
  // A run of other settings (steps, arm definition, graph edits) is refused, never resumed or reused.
  const found = await refuseDifferentRun(dir, file, sets);
  let wall: number | null = null;
  if (found.state !== 'same' || !found.done) {
    console.log(`${name}: training ${steps} steps → ${dir}`);
    const t0 = performance.now();
    // --force: an interrupted earlier attempt leaves its record here; training resumes from its checkpoints.
    const args = ['bin/tessera.mjs', 'run', file, '--allow-outside-workspace', '-o', dir, '--force', ...sets.flatMap((x) => ['-s', x]), '--json'];
    const code = await runLogged(process.execPath, args, join(out, `${name}.log`));
    wall = (performance.now() - t0) / 1000;
    if (code !== 0) throw new Error(`${name}: tessera run exited ${code} (see ${join(out, `${name}.log`)})`);
  } else console.log(`${name}: reusing the finished run in ${dir}`);
  const summary = await readSummary();
  let metricsDir = join(dir, 'metrics');
  let evalSeconds: number | null = null;
  if (evalCount > 0) {
    const evalDir = join(out, `${name}-eval${evalCount}`);
    metricsDir = join(evalDir, 'metrics');
    const weights = join(dir, 'train', 'weights.safetensors');
    const evalSets = [`model.checkpoint=${weights}`, `testData.test=${evalCount}`];
    // Reused only for the same weights file, unchanged since, and the same graph and sample count.
    if (!(await isReusable(evalDir, generateGraph, evalSets, [weights]))) {
      console.log(`${name}: evaluating on ${evalCount} test samples → ${evalDir}`);
      const t0 = performance.now();
      const args = ['bin/tessera.mjs', 'run', generateGraph, '--allow-outside-workspace', '-o', evalDir, '--force', ...evalSets.flatMap((x) => ['-s', x]), '--json'];
      const code = await runLogged(process.execPath, args, join(out, `${name}-eval.log`));
      if (code !== 0) throw new Error(`${name}: evaluation exited ${code} (see ${join(out, `${name}-eval.log`)})`);
      evalSeconds = (performance.now() - t0) / 1000;
    } else console.log(`${name}: reusing the finished evaluation in ${evalDir}`);
  }
  const metrics = JSON.parse(await readFile(join(metricsDir, 'metrics.json'), 'utf8')) as MetricsJson;
  const history = JSON.parse(await readFile(join(dir, 'train', 'history.json'), 'utf8')) as Record<string, number>[];
  const finalLoss = Object.fromEntries(tailMeans(history, 100));
  const result = { arm, seed, seconds: wall, evalSeconds, trainSeconds: summary?.seconds ?? null, samplesPerSecond: summary?.samplesPerSecond ?? null, perK: metrics.perK, finalLoss };
  return { result, metrics };
}

for (const arm of arms) if (!(arm in ARMS)) throw new Error(`unknown arm '${arm}' (arms: ${Object.keys(ARMS).join(', ')})`);
const results: RunResult[] = [];
const perArm = new Map<ArmName, MetricsJson[]>();
// Seed-major: after one pass every arm has a first seed, so an interrupted ablation is still comparable.
for (const seed of seeds) {
  for (const arm of arms) {
    const { result, metrics } = await runOne(arm, seed);
    results.push(result);
    perArm.set(arm, [...(perArm.get(arm) ?? []), metrics]);
  }
}

// Arms for the paired comparison: every training arm (its seeds), then the model-free baselines
// and the measured retrieval chance, all on the same evaluation samples.
const first = perArm.get(arms[0]!)![0]!;
const table = comparedArms(arms.map((arm) => ({ name: arm, label: ARMS[arm], runs: perArm.get(arm)! })));
const boot = { reference, resamples, seed: 0, level: 0.95 };
const comparison = compareArms(table.arms, table.kOf, boot);

const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(d));
const ks = comparison.map((c) => c.k);
const lines: string[] = [
  `Cells: mean [95 % CI], paired bootstrap over the ${first.perSample.length} evaluation samples (${resamples} resamples; the ${seeds.length} training seeds of an arm averaged within each resample). **Bold**: the CI of the difference to "${ARMS[reference]}" excludes 0.`,
  '',
];
for (const c of COMPARED) {
  if (!comparison.some((t) => t.rows.some((r) => r.cells[c.key]))) continue;
  lines.push(metricMarkdown(comparison, c.key, `${c.title} (${c.higherIsBetter ? '↑' : '↓'})`));
}
lines.push('| arm | seed | train wall s | samples/s | final loss (mean of last 100 steps) |', '|---|---:|---:|---:|---|');
for (const r of results) lines.push(`| ${ARMS[r.arm]} | ${r.seed} | ${fmt(r.trainSeconds, 0)} | ${fmt(r.samplesPerSecond, 1)} | ${Object.entries(r.finalLoss).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')} |`);
const machine = machineLine();
lines.push('', `Measured on ${machine}; ${steps} steps per arm and seed; seeds ${seeds.join(', ')}; ${first.perSample.length} held-out test samples (the same for every arm and seed).`);
await writeFile(join(out, 'ablation.md'), lines.join('\n') + '\n');
await writeFile(join(out, 'ablation.json'), JSON.stringify({ machine, steps, seeds, reference, bootstrap: boot, results, comparison }, null, 1) + '\n');

// One SVG per metric: arms against K.
const COLORS = ['#888888', '#e6194b', '#0082c8', '#3cb44b', '#f58231', '#911eb4'];
for (const [m, title] of METRICS) {
  const series = arms.map((arm) => ks.map((k) => comparison.find((t) => t.k === k)?.rows.find((r) => r.arm === arm)?.cells[m]?.value.mean ?? null));
  const vals = series.flat().filter((v): v is number => typeof v === 'number');
  if (!vals.length) continue;
  const chance = ks.map((k) => comparison.find((t) => t.k === k)?.rows.find((r) => r.arm === 'chance')?.cells.retrievalAcc?.value.mean ?? null);
  const lo = Math.min(...vals, ...(m === 'retrievalAcc' ? chance.filter((v): v is number => v !== null) : []));
  const hi = Math.max(...vals, lo + 1e-9);
  const W = 420, H = 240, L = 50, B = 30;
  const x = (k: number) => L + ((k - ks[0]!) / Math.max(1, ks[ks.length - 1]! - ks[0]!)) * (W - L - 20);
  const y = (v: number) => 20 + (1 - (v - lo) / (hi - lo)) * (H - 20 - B);
  const parts = [`<text x="${L}" y="14" font-size="12">${title}</text>`];
  ks.forEach((k) => parts.push(`<text x="${x(k)}" y="${H - 10}" font-size="10" text-anchor="middle">K=${k}</text>`));
  parts.push(`<text x="${L - 4}" y="${y(hi) + 4}" font-size="10" text-anchor="end">${hi.toPrecision(3)}</text>`, `<text x="${L - 4}" y="${y(lo) + 4}" font-size="10" text-anchor="end">${lo.toPrecision(3)}</text>`);
  if (m === 'retrievalAcc') parts.push(`<polyline fill="none" stroke="#bbb" stroke-dasharray="4 3" points="${ks.flatMap((k, j) => (chance[j] === null ? [] : [`${x(k)},${y(chance[j]!)}`])).join(' ')}"/>`);
  series.forEach((s, i) => {
    const pts = s.map((v, j) => (v === null ? '' : `${x(ks[j]!).toFixed(1)},${y(v).toFixed(1)}`)).filter(Boolean).join(' ');
    parts.push(`<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2" points="${pts}"/>`);
    parts.push(`<text x="${W - 120}" y="${34 + i * 14}" font-size="11" fill="${COLORS[i % COLORS.length]}">${ARMS[arms[i]!]}</text>`);
  });
  await writeFile(join(out, `ablation_${m.replace('@', '_at_')}.svg`), `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">${parts.join('')}</svg>\n`);
}
// Pictures of each arm's first seed.
for (const r of results.filter((x) => x.seed === seeds[0])) {
  const name = `${r.arm}-s${r.seed}`;
  await copyFile(join(out, evalCount > 0 ? `${name}-eval${evalCount}` : name, 'generated', 'sheet.png'), join(out, `sheet_${r.arm}.png`)).catch(() => undefined);
  await copyFile(join(out, name, 'train', 'heatmaps.png'), join(out, `heatmaps_${r.arm}.png`)).catch(() => undefined);
  await copyFile(join(out, name, 'train', 'loss.png'), join(out, `loss_${r.arm}.png`)).catch(() => undefined);
}
console.log(lines.join('\n'));
