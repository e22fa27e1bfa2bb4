import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from 'tessera';
import { adamw, loadSafetensors, saveSafetensors, schedules, Tensor, Trainer } from 'tessera/kernels';
import { checkpointName, listCheckpoints } from './checkpoints.ts';
import type { HistoryRow } from './lossCurve.ts';
import type { TrainingProgram } from './Trainable.ts';

/** Optimisation settings of one run (the Train node's params). */
export interface TrainSettings {
  steps: number;
  batchSize: number;
  lr: number;
  schedule: 'constant' | 'cosine';
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  clipGradNorm: number;
  /** EMA decay of the weights (0: off). The handle passed on then carries the EMA weights. */
  ema: number;
  /** Save every N steps (0: only at the end). */
  checkpointEvery: number;
  /** Checkpoints kept on disk (older ones are deleted). */
  keep: number;
  resume: boolean;
  seed: number;
}

/** What happened, for the node's outputs. */
export interface TrainResult {
  params: Record<string, Tensor>;
  history: HistoryRow[];
  step: number;
  resumedFrom: number | null;
  checkpoint: string;
  /** Wall seconds of the steps this call ran, and samples per second over them. */
  seconds: number;
  samplesPerSecond: number;
  provider: string;
}

export interface TrainHooks {
  signal?: AbortSignal;
  /** After every step; `history` is the whole run's (resumed rows included). */
  onStep?: (row: HistoryRow, step: number, total: number, history: readonly HistoryRow[]) => void;
  log?: (line: string) => void;
}

const EMA_SUFFIX = '.ema.safetensors';
const HISTORY = 'history.json';

/**
 * Runs a training program: one Trainer whose step graphs are the program's variants, batches from
 * the program, checkpoints (params + optimizer + RNG state, EMA and history beside them) every N
 * steps. With `resume`, the newest checkpoint in `dir` is loaded after its metadata has been
 * checked, and the run continues exactly as if it had not stopped.
 */
export async function runTraining(program: TrainingProgram, s: TrainSettings, dir: string, hooks: TrainHooks = {}): Promise<TrainResult> {
  const lr = s.schedule === 'cosine' ? schedules.warmupCosine({ peak: s.lr, warmupSteps: s.warmupSteps, totalSteps: s.steps, minLr: s.lr * 0.1 }) : schedules.linearWarmup({ peak: s.lr, warmupSteps: Math.max(1, s.warmupSteps) });
  const [first, ...rest] = program.variants;
  if (!first) throw new RangeError('train: the training data has no batches');
  const trainer = await Trainer.create(program.modelFn(first, s.batchSize), {
    optimizer: adamw({ lr, beta1: s.beta1, beta2: s.beta2, weightDecay: s.weightDecay }),
    clipGradNorm: s.clipGradNorm > 0 ? s.clipGradNorm : undefined,
    seed: s.seed,
    // Variants alternate step by step; spinning pools would fight each other.
    spin: rest.length === 0,
  });
  try {
    const variantKey = (v: string) => (v === first ? '' : v);
    const built = new Set<string>([first]);
    if (program.initial) trainer.setParams({ ...program.initial });

    let history: HistoryRow[] = [];
    let ema: Record<string, Tensor> | null = null;
    let resumedFrom: number | null = null;
    // The loop position (steps taken, skipped non-finite ones included) names checkpoints and
    // drives the batches; the trainer's own count is applied updates only.
    let start = 0;
    const existing = await listCheckpoints(dir);
    if (s.resume && existing.length) {
      const last = existing[existing.length - 1]!;
      const { metadata } = await loadSafetensors(last.path);
      const problems = program.checkMetadata(metadata);
      problems.push(...settingsDifferences(metadata['train.settings'], s));
      if (problems.length) throw new Error(`cannot resume from ${last.path}:\n  ${problems.join('\n  ')}\n(use another checkpointDir, or resume: false to start over — that deletes the checkpoints in ${dir})`);
      await trainer.load(last.path);
      start = Number(metadata['train.position'] ?? trainer.stepCount);
      resumedFrom = start;
      history = await readHistory(dir, start);
      if (s.ema > 0) {
        ema = await readEma(emaPath(last.path));
        if (!ema) throw new Error(`cannot resume from ${last.path}: its EMA weights ${emaPath(last.path)} are missing (resuming would restart the average)`);
      }
      hooks.log?.(`train: resumed from ${last.path} (step ${start})`);
    } else if (!s.resume && existing.length) {
      // Old checkpoints would outnumber (and outlive) this run's in pruning and in a later resume.
      for (const old of existing) {
        await rm(old.path, { force: true });
        await rm(emaPath(old.path), { force: true });
      }
      await rm(join(dir, HISTORY), { force: true });
      hooks.log?.(`train: resume is off; deleted ${existing.length} earlier checkpoint(s) in ${dir}`);
    }

    const save = async (step: number): Promise<string> => {
      const path = join(dir, checkpointName(step));
      // The checkpoint is the commit point: EMA and history go first, so a kill between the
      // writes leaves either a complete checkpoint or none (history rows past it are dropped).
      if (ema) await saveSafetensors(emaPath(path), ema, { step: String(step) });
      await writeFileAtomic(join(dir, HISTORY), JSON.stringify(history) + '\n');
      await trainer.save(path, { ...program.metadata, 'train.settings': settingsKey(s), 'train.position': String(step) });
      const all = await listCheckpoints(dir);
      for (const old of all.slice(0, Math.max(0, all.length - s.keep))) {
        await rm(old.path, { force: true });
        await rm(emaPath(old.path), { force: true });
      }
      return path;
    };

    const t0 = performance.now();
    let samples = 0;
    let checkpoint = '';
    for (let step = start; step < s.steps; step++) {
      hooks.signal?.throwIfAborted();
      const batch = program.batch(step, s.batchSize, s.seed);
      if (!built.has(batch.variant)) {
        await trainer.addVariant(batch.variant, program.modelFn(batch.variant, s.batchSize));
        built.add(batch.variant);
      }
      const r = await trainer.step(batch.feeds, { variant: variantKey(batch.variant), outputs: batch.metrics });
      samples += batch.size;
      const row: HistoryRow = { step: step + 1, loss: r.loss, gradNorm: r.gradNorm };
      for (const [k, v] of Object.entries(r.outputs)) row[k] = v.item();
      if (!r.finite) hooks.log?.(`train: step ${step + 1} had a non-finite loss or gradient; the update was skipped`);
      history.push(row);
      if (s.ema > 0) ema = updateEma(ema, trainer.getParams(), s.ema);
      hooks.onStep?.(row, step + 1, s.steps, history);
      if (s.checkpointEvery > 0 && (step + 1) % s.checkpointEvery === 0 && step + 1 < s.steps) checkpoint = await save(step + 1);
    }
    const end = Math.max(start, s.steps);
    if (end > start || !checkpoint) checkpoint = await save(end);
    const seconds = (performance.now() - t0) / 1000;
    const params = ema ? Object.fromEntries(Object.entries(ema).map(([k, t]) => [k, t.clone()])) : trainer.getParams();
    return { params, history, step: end, resumedFrom, checkpoint, seconds, samplesPerSecond: samples / Math.max(seconds, 1e-9), provider: trainer.provider };
  } finally {
    await trainer.dispose();
  }
}

/** The settings that must not change across a resume (they shape the batches and updates). */
function settingsKey(s: TrainSettings): string {
  return JSON.stringify({ steps: s.steps, batchSize: s.batchSize, lr: s.lr, schedule: s.schedule, warmupSteps: s.warmupSteps, weightDecay: s.weightDecay, beta1: s.beta1, beta2: s.beta2, clipGradNorm: s.clipGradNorm, ema: s.ema, seed: s.seed });
}

/**
 * Readable differences between a checkpoint's settings and the current ones. `steps` is among
 * them on purpose: the cosine LR schedule and fractional β warm-ups are planned over it, so
 * extending a finished run is a new run (another checkpointDir), not a resume.
 */
function settingsDifferences(saved: string | undefined, s: TrainSettings): string[] {
  if (!saved) return [];
  let old: Record<string, unknown>;
  try {
    old = JSON.parse(saved) as Record<string, unknown>;
  } catch {
    return ['the checkpoint\'s training settings are unreadable'];
  }
  const now = JSON.parse(settingsKey(s)) as Record<string, unknown>;
  return Object.keys(now)
    .filter((k) => old[k] !== now[k])
    .map((k) => `${k}: ${String(old[k])} in the checkpoint, ${String(now[k])} now${k === 'steps' ? ' (the LR schedule and β warm-up are planned over steps)' : ''}`);
}

const emaPath = (ckpt: string) => ckpt.replace(/\.safetensors$/, EMA_SUFFIX);

function updateEma(ema: Record<string, Tensor> | null, params: Record<string, Tensor>, decay: number): Record<string, Tensor> {
  if (!ema) return params;
  for (const [k, t] of Object.entries(params)) {
    const e = ema[k]!.data as Float32Array;
    const p = t.data as Float32Array;
    for (let i = 0; i < e.length; i++) e[i] = decay * e[i]! + (1 - decay) * p[i]!;
  }
  return ema;
}

async function readEma(path: string): Promise<Record<string, Tensor> | null> {
  try {
    return (await loadSafetensors(path)).tensors;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

async function readHistory(dir: string, upTo: number): Promise<HistoryRow[]> {
  try {
    const rows = JSON.parse(await readFile(join(dir, HISTORY), 'utf8')) as HistoryRow[];
    return rows.filter((r) => r.step <= upTo);
  } catch {
    return [];
  }
}
