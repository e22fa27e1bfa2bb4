import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig } from '../../plugins/mosaic/model/MosaicConfig.ts';
import { MosaicModel } from '../../plugins/mosaic/model/MosaicModel.ts';
import { checkpointName, emaPath, listCheckpoints, manifestPath } from '../../plugins/train/checkpoints.ts';
import type { HistoryRow } from '../../plugins/train/lossCurve.ts';
import { runTraining, type TrainResult, type TrainSettings } from '../../plugins/train/runTraining.ts';
import { fixtures, tempDir } from '../semalign/helpers.ts';
import { rejects } from '../mosaic/helpers.ts';

// Crash safety of training checkpoints: every state a kill -9 can leave inside the checkpoint
// commit window resumes exactly; a damaged checkpoint is skipped (naming the file) for the newest
// intact one; a missing or short history.json is refused. The states are built from the files
// of one uninterrupted run, so each is exact and the test is deterministic (the real kill -9 run
// is test/mosaic/resume.test.ts).

const samples = fixtures(6, [1, 2], {}, 'train');
const config = resolveConfig('tiny');
const program = () => new MosaicModel(config).withTaps([0]).withTerm({ kind: 'scal', alpha: 0.4, mode: 'reference' }).trainingProgram(samples, { steps: 6 });
const SETTINGS: TrainSettings = { steps: 6, batchSize: 2, lr: 3e-3, schedule: 'cosine', warmupSteps: 1, weightDecay: 0.01, beta1: 0.9, beta2: 0.999, clipGradNorm: 1, ema: 0.9, checkpointEvery: 2, keep: 10, resume: true, seed: 5 };

const ref = tempDir('ckpt-ref');
let reference: TrainResult;
const ck = (step: number) => join(ref, checkpointName(step));

/** Copies the reference run's checkpoint files of `step` into `dir` (without the manifest when asked). */
function copyCheckpoint(dir: string, step: number, manifest = true): void {
  const files = [ck(step), emaPath(ck(step)), ...(manifest ? [manifestPath(ck(step))] : [])];
  for (const f of files) copyFileSync(f, join(dir, f.slice(ref.length + 1)));
}
/** history.json as the run wrote it after `rows` steps. */
const writeHistory = (dir: string, rows: number) => writeFileSync(join(dir, 'history.json'), JSON.stringify(reference.history.slice(0, rows)) + '\n');

/** Resumes in `dir`; returns the result and every log/warning line. */
async function resume(dir: string): Promise<{ r: TrainResult; log: string[]; warnings: string[] }> {
  const log: string[] = [];
  const warnings: string[] = [];
  const r = await runTraining(program(), SETTINGS, dir, { log: (l) => log.push(l), warn: (l) => warnings.push(l) });
  return { r, log, warnings };
}

function sameAsReference(r: TrainResult): void {
  assert.equal(r.history, reference.history, 'loss history differs from the uninterrupted run');
  for (const [name, t] of Object.entries(reference.params)) assert.equal(Array.from(r.params[name]!.data as Float32Array), Array.from(t.data as Float32Array), name);
}

test('setup: an uninterrupted run commits each checkpoint with a manifest of its files and history', async () => {
  reference = await runTraining(program(), { ...SETTINGS, resume: false }, ref);
  assert.equal((await listCheckpoints(ref)).map((c) => c.step), [2, 4, 6]);
  for (const step of [2, 4, 6]) {
    const m = JSON.parse(readFileSync(manifestPath(ck(step)), 'utf8'));
    assert.is(m.step, step);
    assert.equal(m.files.map((f: { name: string }) => f.name).sort(), [checkpointName(step), checkpointName(step).replace('.safetensors', '.ema.safetensors')].sort());
    assert.is(m.files.find((f: { name: string }) => f.name === checkpointName(step)).size, readFileSync(ck(step)).length);
    assert.is(m.history.rows, step);
  }
});

// A kill at each point of committing the step-4 checkpoint (2 is committed), and one during pruning.
const killPoints: [string, (dir: string) => void, number][] = [
  ['after the EMA file, before history.json', (d) => (copyCheckpoint(d, 2), writeHistory(d, 2), copyFileSync(emaPath(ck(4)), emaPath(join(d, checkpointName(4))))), 2],
  ['after history.json, before the checkpoint', (d) => (copyCheckpoint(d, 2), writeHistory(d, 4), copyFileSync(emaPath(ck(4)), emaPath(join(d, checkpointName(4))))), 2],
  ['after the checkpoint, before its manifest', (d) => (copyCheckpoint(d, 2), writeHistory(d, 4), copyCheckpoint(d, 4, false)), 4],
  ['after the manifest, before pruning', (d) => (copyCheckpoint(d, 2), writeHistory(d, 4), copyCheckpoint(d, 4)), 4],
  ['while pruning (the old manifest gone, its checkpoint not yet)', (d) => (copyCheckpoint(d, 2, false), writeHistory(d, 4), copyCheckpoint(d, 4)), 4],
];
for (const [when, build, from] of killPoints) {
  test(`killed ${when}: resumes from step ${from} and ends exactly as the uninterrupted run`, async () => {
    const dir = tempDir('ckpt-kill');
    build(dir);
    const { r, log, warnings } = await resume(dir);
    assert.is(r.resumedFrom, from, log.join('\n'));
    assert.equal(warnings, []);
    sameAsReference(r);
    if (when.includes('before its manifest')) assert.ok(log.some((l) => /has no manifest .* it parses, so it is used/.test(l)), log.join('\n'));
  });
}

test('a truncated latest checkpoint is skipped, naming the file and the size mismatch; the run resumes from the one before', async () => {
  const dir = tempDir('ckpt-trunc');
  for (const s of [2, 4, 6]) copyCheckpoint(dir, s);
  writeHistory(dir, 6);
  const full = readFileSync(ck(6)).length;
  truncateSync(join(dir, checkpointName(6)), 1000);
  const { r, warnings } = await resume(dir);
  assert.is(r.resumedFrom, 4);
  assert.ok(warnings.some((w) => w.includes(`${join(dir, checkpointName(6))}: size 1000 ≠ ${full} in manifest`)), warnings.join('\n'));
  sameAsReference(r);
});

test('a corrupted checkpoint (same size, one byte changed) fails its SHA-256 and is skipped', async () => {
  const dir = tempDir('ckpt-flip');
  for (const s of [4, 6]) copyCheckpoint(dir, s);
  writeHistory(dir, 6);
  const bytes = readFileSync(join(dir, checkpointName(6)));
  bytes[bytes.length - 3] ^= 0xff;
  writeFileSync(join(dir, checkpointName(6)), bytes);
  const { r, warnings } = await resume(dir);
  assert.is(r.resumedFrom, 4);
  assert.ok(warnings.some((w) => w.includes(`${checkpointName(6)}: SHA-256 differs`)), warnings.join('\n'));
  sameAsReference(r);
});

test('checkpoints without manifests (older runs) are accepted when they parse; a truncated one is skipped by its parse error', async () => {
  const dir = tempDir('ckpt-legacy');
  for (const s of [4, 6]) copyCheckpoint(dir, s, false);
  writeHistory(dir, 6);
  truncateSync(join(dir, checkpointName(6)), 4000);
  const { r, log, warnings } = await resume(dir);
  assert.is(r.resumedFrom, 4);
  assert.ok(warnings.some((w) => w.includes(join(dir, checkpointName(6))) && /data lies outside the file|header length exceeds/.test(w)), warnings.join('\n'));
  assert.ok(log.some((l) => l.includes(`${checkpointName(4)} has no manifest`)), log.join('\n'));
  sameAsReference(r);
  assert.ok(existsSync(manifestPath(join(dir, checkpointName(6)))), 'new checkpoints get manifests');
});

test('a missing EMA file makes its checkpoint not intact', async () => {
  const dir = tempDir('ckpt-ema');
  for (const s of [4, 6]) copyCheckpoint(dir, s);
  writeHistory(dir, 6);
  rmSync(emaPath(join(dir, checkpointName(6))));
  const { r, warnings } = await resume(dir);
  assert.is(r.resumedFrom, 4);
  assert.ok(warnings.some((w) => /ema\.safetensors: missing \(listed in step-00000006\.manifest\.json\)/.test(w)), warnings.join('\n'));
});

test('no intact checkpoint at all: refused, listing each file and why', async () => {
  const dir = tempDir('ckpt-none');
  for (const s of [4, 6]) copyCheckpoint(dir, s);
  writeHistory(dir, 6);
  for (const s of [4, 6]) truncateSync(join(dir, checkpointName(s)), 100);
  await rejects(resume(dir), /no intact checkpoint in .*\n.*step-00000006\.safetensors: size 100 ≠ \d+ in manifest\n.*step-00000004\.safetensors: size 100/);
});

test('a missing, truncated or short history.json is refused, naming the file, instead of resuming with half the history', async () => {
  const setup = (label: string) => {
    const dir = tempDir(label);
    copyCheckpoint(dir, 6);
    return dir;
  };
  const missing = setup('hist-missing');
  await rejects(resume(missing), new RegExp(`cannot resume from .*step-00000006\\.safetensors: ${join(missing, 'history.json')} is missing`));

  const cut = setup('hist-cut');
  writeHistory(cut, 6);
  truncateSync(join(cut, 'history.json'), Math.floor(readFileSync(join(cut, 'history.json')).length / 2));
  await rejects(resume(cut), /history\.json is unreadable \(.*\); it may be truncated/);

  const short = setup('hist-short');
  writeHistory(short, 3);
  await rejects(resume(short), /history\.json holds 3 of the 6 rows the checkpoint needs/);

  const changed = setup('hist-changed');
  writeFileSync(join(changed, 'history.json'), JSON.stringify(reference.history.map((r: HistoryRow) => ({ ...r, loss: r.loss + 1 }))) + '\n');
  await rejects(resume(changed), /history\.json differs from the rows the checkpoint was saved with/);
});

test.run();
