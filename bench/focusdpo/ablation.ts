/**
 * The FocusDPO ablation (issue 14): base vs +SFT vs +Diffusion-DPO (uniform W) vs +FocusDPO-like
 * with the focus map ablated term by term, each post-trained from the bundled MOSAIC v2 base with
 * graphs/focusdpo-v2-train.json — the same pairs and steps for every arm (only the DPOLoss and
 * FocusMap params differ), at several training seeds — then sampled and scored on held-out test
 * identities at K = 1..6 with graphs/mosaic-generate.json, against the model-free baselines.
 *
 *   node --import ./core/loader/register.mjs bench/focusdpo/ablation.ts --out runs/focusdpo-ablation [--arms base,sft,dpo,prior,corr,full,notau] [--seeds 0,1,2] [--steps 300] [--pairs 512] [--eval 384] [--beta 2000] [--tau 0.5] [--resamples 2000]
 *
 * Resumable like bench/mosaic/ablation.ts: each (arm, seed) trains into <out>/<arm>-s<seed>
 * (checkpoints every 100 steps in <out>/<arm>-s<seed>-ckpt, so an interrupted run resumes exactly)
 * and is evaluated into <out>/<arm>-s<seed>-eval<N>; finished runs and evaluations are skipped when
 * their recorded graph equals what would run now (bench/mosaic/recordedRun.ts): a folder holding a
 * run of other settings is refused with an error, and an evaluation older than its weights reruns.
 * `base` is not trained: the bundled checkpoint is evaluated once and stands for every seed.
 * `--beta` / `--tau` change every arm (a β or τ sweep is one output folder per value).
 *
 * Writes <out>/ablation.md and <out>/ablation.json: per metric, arms and baselines as rows, K as
 * columns, mean [95 % CI] from a paired bootstrap clustered by sample (seeds averaged within each
 * resample); bold only where the CI of the difference to --reference (default base) excludes 0.
 * Also the last-20-step mean implicit accuracy and reward margin of every trained run, and
 * pictures: implicit-accuracy.svg (curves of every arm), before-after_<arm>.png (base | arm, first
 * seed, same samples and sampling noise) and focus-map_<arm>.png (W_t heatmaps across t).
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { machineLine, num, opt, runLogged, tailMeans } from '../mosaic/benchArgs.ts';
import { isReusable, refuseDifferentRun } from '../mosaic/recordedRun.ts';
import { comparedArms, type MetricsJson } from '../mosaic/armTable.ts';
import { compareArms, COMPARED, metricMarkdown } from '../../plugins/metrics/index.ts';
import { writeFileAtomic } from '../../core/util/writeFileAtomic.ts';
import { decodePng, encodePng } from 'tessera/image';
import type { HistoryRow } from '../../plugins/train/lossCurve.ts';
import { curvesSvg, sideBySide, type ArmCurves } from './figures.ts';

/** Each arm's label and its params over graphs/focusdpo-v2-train.json (null: not trained). */
const ARMS: Record<string, { label: string; set: Record<string, unknown> | null }> = {
  base: { label: 'base (MOSAIC v2, no post-training)', set: null },
  sft: { label: '+SFT on winners', set: { 'dpo.objective': 'sft', 'dpo.weighting': 'uniform' } },
  dpo: { label: '+Diffusion-DPO (uniform W)', set: { 'dpo.objective': 'dpo', 'dpo.weighting': 'uniform' } },
  prior: { label: '+FocusDPO-like, prior only', set: { 'focus.correspondence': false, 'focus.complexity': false } },
  corr: { label: '+FocusDPO-like, prior + correspondence', set: { 'focus.complexity': false } },
  full: { label: '+FocusDPO-like, prior + corr + complexity after τ', set: {} },
  notau: { label: '+FocusDPO-like, complexity at every t (τ = 0)', set: { 'focus.tau': 0 } },
};

const TRAIN_GRAPH = 'graphs/focusdpo-v2-train.json';
const GENERATE_GRAPH = 'graphs/mosaic-generate.json';
const BASE_WEIGHTS = 'plugins/mosaic/weights/mosaic-latent-v2.safetensors';

const out = resolve(opt('out') ?? 'runs/focusdpo-ablation');
const arms = (opt('arms') ?? Object.keys(ARMS).join(',')).split(',');
for (const a of arms) if (!Object.hasOwn(ARMS, a)) throw new RangeError(`unknown arm '${a}' (arms: ${Object.keys(ARMS).join(', ')})`);
const seeds = (opt('seeds') ?? '0,1,2').split(',').map(Number);
if (!seeds.length || seeds.some((x) => !Number.isInteger(x) || x < 0)) throw new RangeError(`--seeds must be non-negative integers, got '${opt('seeds')}'`);
const reference = opt('reference') ?? arms[0]!;
if (!arms.includes(reference)) throw new RangeError(`--reference ${reference} is not among --arms ${arms.join(',')}`);
const steps = num('steps', 300, 1);
const pairs = num('pairs', 512, 1);
const evalCount = num('eval', 384, 1);
const resamples = num('resamples', 2000, 100);
const beta = opt('beta') === undefined ? undefined : num('beta', 0);
const tau = opt('tau') === undefined ? undefined : num('tau', 0);
await mkdir(out, { recursive: true });

const assignments = (set: Record<string, unknown>) => Object.entries(set).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
const setArgs = (sets: readonly string[]) => sets.flatMap((s) => ['-s', s]);
const common = { 'data.train': pairs, 'train.steps': steps, ...(beta !== undefined ? { 'dpo.beta': beta } : {}), ...(tau !== undefined ? { 'focus.tau': tau } : {}) };

interface Trained { arm: string; seed: number; trainSeconds: number | null; implicitAcc: number | null; rewardMargin: number | null; history: HistoryRow[] }

/** Trains (or resumes, or reuses) one arm at one seed; returns where its weights are. */
async function train(arm: string, seed: number): Promise<{ weights: string; info: Trained }> {
  const name = `${arm}-s${seed}`;
  const dir = join(out, name);
  const sets = assignments({ ...common, ...ARMS[arm]!.set, 'train.seed': seed, 'train.checkpointDir': join(out, `${name}-ckpt`) });
  // A run of other settings (steps, pairs, β, τ, arm definition) is refused, never resumed or reused.
  const found = await refuseDifferentRun(dir, TRAIN_GRAPH, sets);
  if (found.state !== 'same' || !found.done) {
    console.log(`${name}: post-training ${steps} steps → ${dir}`);
    const code = await runLogged(process.execPath, ['bin/tessera.mjs', 'run', TRAIN_GRAPH, '--allow-outside-workspace', '-o', dir, '--force', ...setArgs(sets), '--json'], join(out, `${name}.log`));
    if (code !== 0) throw new Error(`${name}: tessera run exited ${code} (see ${join(out, `${name}.log`)})`);
  } else console.log(`${name}: reusing the finished run in ${dir}`);
  const record = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as { results?: { train?: { summary?: { seconds?: number } } } };
  const history = JSON.parse(await readFile(join(dir, 'focusdpo', 'history.json'), 'utf8')) as HistoryRow[];
  const tail = tailMeans(history, 20);
  const mean = (k: string) => tail.get(k) ?? null;
  return { weights: join(dir, 'focusdpo', 'policy.safetensors'), info: { arm, seed, trainSeconds: record.results?.train?.summary?.seconds ?? null, implicitAcc: mean('acc'), rewardMargin: mean('margin'), history } };
}

/** Evaluates weights on the held-out samples (skipped when done); returns its metrics. */
async function evaluate(name: string, weights: string): Promise<MetricsJson> {
  const dir = join(out, `${name}-eval${evalCount}`);
  const sets = [`model.checkpoint=${weights}`, `testData.test=${evalCount}`];
  // Reused only for the same weights file, unchanged since, and the same graph and sample count.
  if (!(await isReusable(dir, GENERATE_GRAPH, sets, [weights]))) {
    console.log(`${name}: evaluating on ${evalCount} test samples → ${dir}`);
    const code = await runLogged(process.execPath, ['bin/tessera.mjs', 'run', GENERATE_GRAPH, '--allow-outside-workspace', '-o', dir, '--force', ...setArgs(sets), '--json'], join(out, `${name}-eval.log`));
    if (code !== 0) throw new Error(`${name}: evaluation exited ${code} (see ${join(out, `${name}-eval.log`)})`);
  } else console.log(`${name}: reusing the finished evaluation in ${dir}`);
  return JSON.parse(await readFile(join(dir, 'metrics', 'metrics.json'), 'utf8')) as MetricsJson;
}

const t0 = performance.now();
const perArm = new Map<string, MetricsJson[]>();
const trained: Trained[] = [];
if (arms.includes('base')) perArm.set('base', [await evaluate('base', resolve(BASE_WEIGHTS))]);
// Seed-major: after one pass every arm has a first seed, so an interrupted ablation is already comparable.
for (const seed of seeds) {
  for (const arm of arms) {
    if (arm === 'base') continue;
    const { weights, info } = await train(arm, seed);
    trained.push(info);
    perArm.set(arm, [...(perArm.get(arm) ?? []), await evaluate(`${arm}-s${seed}`, weights)]);
  }
}

const table = comparedArms(arms.map((arm) => ({ name: arm, label: ARMS[arm]!.label, runs: perArm.get(arm)! })));
const boot = { reference, resamples, seed: 0, level: 0.95 };
const comparison = compareArms(table.arms, table.kOf, boot);
const fmt = (v: number | null, d = 3) => (v === null || Number.isNaN(v) ? '–' : v.toFixed(d));
const lines = [
  `Cells: mean [95 % CI], paired bootstrap over the ${table.samples} evaluation samples (${resamples} resamples; an arm's ${seeds.length} training seeds averaged within each resample; base is one evaluation). **Bold**: the CI of the difference to "${ARMS[reference]!.label}" excludes 0.`,
  '',
];
for (const c of COMPARED) if (comparison.some((t) => t.rows.some((r) => r.cells[c.key]))) lines.push(metricMarkdown(comparison, c.key, `${c.title} (${c.higherIsBetter ? '↑' : '↓'})`));
lines.push('| arm | seed | train s | implicit accuracy (last 20 steps) | reward margin (last 20 steps) |', '|---|---:|---:|---:|---:|');
for (const r of trained) lines.push(`| ${ARMS[r.arm]!.label} | ${r.seed} | ${fmt(r.trainSeconds, 0)} | ${fmt(r.implicitAcc)} | ${fmt(r.rewardMargin, 4)} |`);
const machine = machineLine();
lines.push('', `Measured on ${machine}; ${pairs} DIP pairs and ${steps} steps per arm and seed${beta !== undefined ? `, β ${beta}` : ''}${tau !== undefined ? `, τ ${tau}` : ''}; seeds ${seeds.join(', ')}; ${table.samples} held-out test samples (the same for every arm); this invocation ${((performance.now() - t0) / 1000).toFixed(0)} s.`);
await writeFileAtomic(join(out, 'ablation.md'), lines.join('\n') + '\n');
await writeFileAtomic(join(out, 'ablation.json'), JSON.stringify({ machine, steps, pairs, beta: beta ?? null, tau: tau ?? null, seeds, reference, bootstrap: boot, trained: trained.map(({ history: _, ...t }) => t), comparison }, null, 1) + '\n');

// Pictures: implicit-accuracy / reward-margin curves (every trained arm, seed means), before/after
// sheets of the first seed against base (same test samples, same sampling noise), and the W_t
// heatmaps FocusMap wrote during training.
const curves: ArmCurves[] = arms.filter((a) => a !== 'base').map((arm) => ({ label: ARMS[arm]!.label, runs: trained.filter((t) => t.arm === arm).map((t) => t.history) }));
await writeFileAtomic(join(out, 'implicit-accuracy.svg'), curvesSvg(curves, [{ key: 'acc', title: 'implicit accuracy', reference: 0.5 }, { key: 'margin', title: 'reward margin', reference: 0 }]));
const sheetOf = async (name: string) => decodePng(await readFile(join(out, `${name}-eval${evalCount}`, 'generated', 'sheet.png')), `${name} sheet`, 3);
const baseSheet = arms.includes('base') ? await sheetOf('base').catch(() => null) : null;
for (const arm of arms.filter((a) => a !== 'base')) {
  const name = `${arm}-s${seeds[0]}`;
  const after = await sheetOf(name).catch(() => null);
  if (baseSheet && after) await writeFileAtomic(join(out, `before-after_${arm}.png`), encodePng(sideBySide(baseSheet, after)));
  await copyFile(join(out, name, 'focusdpo', 'focus-map.png'), join(out, `focus-map_${arm}.png`)).catch(() => undefined);
}
console.log(lines.join('\n'));
