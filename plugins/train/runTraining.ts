import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from 'tessera';
import { ALTERNATING_SESSIONS, adamw, loadSafetensors, saveSafetensors, schedules, Tensor, Trainer } from 'tessera/kernels';
import { checkpointName, emaPath, listCheckpoints, manifestPath, readVerifiedHistory, verifyCheckpoint, writeManifest } from './checkpoints.ts';
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
  /** Problems that do not stop the run (a damaged checkpoint skipped); default: `log` with "warning: ". */
  warn?: (line: string) => void;
}

const HISTORY = 'history.json';

/**
 * Runs a training program: one Trainer whose step graphs are the program's variants, batches from
 * the program, checkpoints (params + optimizer + RNG state, EMA and history beside them, and a
 * manifest with their sizes and hashes written last) every N steps. With `resume`, the newest
 * checkpoint in `dir` that verifies against its manifest is loaded after its metadata has been
 * checked (a damaged newer one is skipped with a warning naming the file), and the run continues
 * exactly as if it had not stopped. A missing or short history.json is refused.
 */
export async function runTraining(program: TrainingProgram, s: TrainSettings, dir: string, hooks: TrainHooks = {}): Promise<TrainResult> {
  const lr = s.schedule === 'cosine' ? schedules.warmupCosine({ peak: s.lr, warmupSteps: s.warmupSteps, totalSteps: s.steps, minLr: s.lr * 0.1 }) : schedules.linearWarmup({ peak: s.lr, warmupSteps: Math.max(1, s.warmupSteps) });
  const [first, ...rest] = program.variants;
  if (!first) throw new RangeError('train: the training data has no batches');
  // E.g. encoding the data into a latent space: once per run, before the first batch.
  await program.prepare?.(hooks.signal);
  const trainer = await Trainer.create(program.modelFn(first, s.batchSize), {
    optimizer: adamw({ lr, beta1: s.beta1, beta2: s.beta2, weightDecay: s.weightDecay }),
    clipGradNorm: s.clipGradNorm > 0 ? s.clipGradNorm : undefined,
    seed: s.seed,
    // Variants alternate step by step: spinning pools would fight each other, and per-session
    // arenas would each keep their variant's peak (3–4.7 GB at K = 1..8 instead of < 1.2 GB).
    ...(rest.length ? ALTERNATING_SESSIONS : {}),
  });
  try {
    const variantKey = (v: string) => (v === first ? '' : v);
    const built = new Set<string>([first]);
    if (program.initial) trainer.setParams({ ...program.initial });

    let history: HistoryRow[] = [];
    let resumedFrom: number | null = null;
    // The loop position (steps taken, skipped non-finite ones included) names checkpoints and
    // drives the batches; the trainer's own count is applied updates only.
    let start = 0;
    const existing = await listCheckpoints(dir);
    if (s.resume && existing.length) {
      const warn = hooks.warn ?? ((line: string) => hooks.log?.(`warning: ${line}`));
      const { last, manifest } = await newestIntact(existing, s.ema > 0, dir, warn);
      if (!manifest) hooks.log?.(`train: ${last.path} has no manifest (saved by an older version, or killed before committing it); it parses, so it is used`);
      const { metadata } = await loadSafetensors(last.path);
      const problems = program.checkMetadata(metadata);
      problems.push(...settingsDifferences(metadata['train.settings'], s));
      if (problems.length) throw new Error(`cannot resume from ${last.path}:\n  ${problems.join('\n  ')}\n(use another checkpointDir, or resume: false to start over — that deletes the checkpoints in ${dir})`);
      await trainer.load(last.path);
      start = Number(metadata['train.position'] ?? trainer.stepCount);
      resumedFrom = start;
      history = await readVerifiedHistory(dir, last.path, start, manifest);
      if (s.ema > 0) trainer.setEma((await loadSafetensors(emaPath(last.path))).tensors);
      hooks.log?.(`train: resumed from ${last.path} (step ${start}${manifest ? ', verified against its manifest' : ''})`);
    } else if (!s.resume && existing.length) {
      // Old checkpoints would outnumber (and outlive) this run's in pruning and in a later resume.
      for (const old of existing) await removeCheckpoint(old.path);
      await rm(join(dir, HISTORY), { force: true });
      hooks.log?.(`train: resume is off; deleted ${existing.length} earlier checkpoint(s) in ${dir}`);
    }

    const save = async (step: number): Promise<string> => {
      const path = join(dir, checkpointName(step));
      // EMA, history, then the checkpoint (each atomic and fsynced); the manifest, written last,
      // commits them. A kill in between leaves the previous committed checkpoint to resume from
      // (or this one without a manifest, which is complete and checked by parsing).
      try {
        const ema = s.ema > 0 ? await trainer.readEma() : null;
        if (ema) await saveSafetensors(emaPath(path), ema, { step: String(step) });
        await writeFileAtomic(join(dir, HISTORY), JSON.stringify(history) + '\n', { sync: true });
        await trainer.save(path, { ...program.metadata, 'train.settings': settingsKey(s), 'train.position': String(step) });
        await writeManifest(path, step, s.ema > 0 && trainer.hasEma ? [path, emaPath(path)] : [path], history);
      } catch (e) {
        throw checkpointWriteError(e, path);
      }
      const all = await listCheckpoints(dir);
      for (const old of all.slice(0, Math.max(0, all.length - s.keep))) await removeCheckpoint(old.path);
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
      // In the trainer, beside the params (on the device when they are): no host copy per step.
      if (s.ema > 0) await trainer.updateEma(s.ema);
      hooks.onStep?.(row, step + 1, s.steps, history);
      if (s.checkpointEvery > 0 && (step + 1) % s.checkpointEvery === 0 && step + 1 < s.steps) checkpoint = await save(step + 1);
    }
    const end = Math.max(start, s.steps);
    if (end > start || !checkpoint) checkpoint = await save(end);
    const seconds = (performance.now() - t0) / 1000;
    const params = (s.ema > 0 ? await trainer.readEma() : null) ?? (await trainer.readParams());
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

/**
 * The newest checkpoint that verifies, newest first; each one skipped is a warning naming the
 * file and why. None intact is an error: starting over would silently discard the run.
 */
async function newestIntact(existing: readonly { step: number; path: string }[], ema: boolean, dir: string, warn: (line: string) => void) {
  const problems: string[] = [];
  for (let i = existing.length - 1; i >= 0; i--) {
    const last = existing[i]!;
    const v = await verifyCheckpoint(last.path, last.step, ema);
    if ('manifest' in v) {
      if (problems.length) warn(`train: resuming from ${last.path} instead`);
      return { last, manifest: v.manifest };
    }
    problems.push(v.problem);
    warn(`train: skipping a damaged checkpoint: ${v.problem}`);
  }
  throw new Error(`cannot resume: no intact checkpoint in ${dir}:\n  ${problems.join('\n  ')}\n(resume: false starts over, deleting them)`);
}

/** The manifest goes first, so a checkpoint is never listed as committed once a file of it is gone. */
async function removeCheckpoint(ckpt: string): Promise<void> {
  for (const f of [manifestPath(ckpt), ckpt, emaPath(ckpt)]) await rm(f, { force: true });
}

/** A failed checkpoint write names the checkpoint (a temp file or a bare "write" says nothing). */
function checkpointWriteError(e: unknown, ckpt: string): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  // writeFileAtomic's errors already say "cannot write <file>: <reason> (<code>)".
  if (typeof code !== 'string' || (e as Error).message.startsWith('cannot write ')) return e;
  return new Error(`train: cannot write checkpoint ${ckpt}: ${(e as Error).message}`, { cause: e });
}
