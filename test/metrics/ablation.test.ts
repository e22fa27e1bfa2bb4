import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from 'tessera';
import { evaluateSample } from '../../plugins/metrics/evaluate.ts';
import { evaluateBaselines } from '../../plugins/metrics/modelFreeArms.ts';
import { counterfactual } from '../../plugins/metrics/nodes.ts';
import { fixtures, tempDir } from '../semalign/helpers.ts';
import { applyOverrides, type GraphDocument } from 'tessera';
import { armGraph, type ArmName, type Graph } from '../../bench/mosaic/armGraph.ts';

const TRAIN = JSON.parse(readFileSync('graphs/mosaic-train.json', 'utf8')) as Graph;
const GENERATE = JSON.parse(readFileSync('graphs/mosaic-v1-generate.json', 'utf8')) as GraphDocument;
/** graph.json as `tessera run` records it: the graph with the bench's `--set`s applied. */
const recorded = (graph: Graph | GraphDocument, sets: string[]) => JSON.stringify(applyOverrides(graph as GraphDocument, sets).graph);
const trainSets = (out: string, name: string, steps: number, seed: number) => [`train.checkpointDir=${join(out, `${name}-ckpt`)}`, `train.steps=${steps}`, `train.seed=${seed}`];
const ABLATION = ['--import', './core/loader/register.mjs', 'bench/mosaic/ablation.ts'];

/**
 * bench/mosaic/ablation.ts on finished runs: every (arm, seed) already trained and evaluated is
 * skipped (nothing is trained or sampled here), and the tables come from what is on disk. Arm
 * "scal" is the ground truth (far better than "none", pure noise); arm "mdl" is noise again.
 */
test('ablation: finished arms/seeds are reused, tables have CIs and bold only resolved differences', () => {
  const out = tempDir('ablation');
  const samples = fixtures(36, [1, 2, 3], { dip: 'none' }, 'test');
  const baselines = Object.fromEntries(evaluateBaselines(samples, [0, 1, 2]));
  const steps = 7;
  for (const arm of ['none', 'scal', 'mdl']) {
    for (const seed of [0, 1, 2]) {
      const name = `${arm}-s${seed}`;
      mkdirSync(join(out, name, 'train'), { recursive: true });
      writeFileSync(join(out, name, 'graph.json'), recorded(armGraph(TRAIN, arm as ArmName), trainSets(out, name, steps, seed)));
      writeFileSync(join(out, name, 'run.json'), JSON.stringify({ status: 'done', results: { train: { summary: { steps, seconds: 1, samplesPerSecond: 2 } } } }));
      writeFileSync(join(out, name, 'train', 'history.json'), JSON.stringify([{ step: 1, loss: 0.5 }]));
      const weights = join(out, name, 'train', 'weights.safetensors');
      writeFileSync(weights, 'weights');
      const rng = new Rng(seed * 10 + arm.length);
      const perSample = samples.map((s) => evaluateSample(s, arm === 'scal' ? s.target : counterfactual(s, 'noise', rng)));
      mkdirSync(join(out, `${name}-eval36`, 'metrics'), { recursive: true });
      writeFileSync(join(out, `${name}-eval36`, 'graph.json'), recorded(GENERATE, [`model.checkpoint=${weights}`, 'testData.test=36']));
      writeFileSync(join(out, `${name}-eval36`, 'run.json'), JSON.stringify({ status: 'done', startedAt: new Date(Date.now() + 60_000).toISOString() }));
      writeFileSync(join(out, `${name}-eval36`, 'metrics', 'metrics.json'), JSON.stringify({ perK: [], perSample, baselines }));
    }
  }
  const log = execFileSync(process.execPath, [...ABLATION, '--out', out, '--arms', 'none,scal,mdl', '--steps', String(steps), '--eval', '36', '--resamples', '500'], { encoding: 'utf8' });
  for (const name of ['none-s0', 'scal-s2', 'mdl-s1']) {
    assert.match(log, new RegExp(`${name}: reusing the finished run`));
    assert.match(log, new RegExp(`${name}: reusing the finished evaluation`));
    assert.not.ok(existsSync(join(out, `${name}.log`)), 'nothing was trained');
  }
  const md = readFileSync(join(out, 'ablation.md'), 'utf8');
  const psnr = md.split('**subject PSNR dB (↑)**')[1]!.split('\n\n')[1]!.split('\n');
  const row = (label: string) => psnr.find((l) => l.startsWith(`| ${label}`))!;
  // SCAL (= ground truth) beats noise everywhere: bold; MDL (noise too) is not resolved from none.
  assert.match(row('SCAL (3 seeds)'), /\| \*\*100\.00 \[100\.00, 100\.00\]\*\* \|/);
  assert.not.match(row('MDL (3 seeds)'), /\*\*/);
  assert.not.match(row('no alignment loss (3 seeds)'), /\*\*/, 'the reference arm is never bold');
  assert.ok(row('mean-colour fill (model-free)'), 'baselines are rows');
  assert.match(md, /retrieval chance E\[1\/\\\|C\\\|\]/);
  const json = JSON.parse(readFileSync(join(out, 'ablation.json'), 'utf8'));
  assert.equal(json.seeds, [0, 1, 2]);
  assert.is(json.results.length, 9);
});

test('ablation: a folder holding a run of other settings is refused, not resumed or reused', () => {
  const out = tempDir('ablation-stale');
  mkdirSync(join(out, 'none-s0'), { recursive: true });
  // Finished with 5 steps; asked for 7: the LR schedule and checkpoints belong to another run.
  writeFileSync(join(out, 'none-s0', 'graph.json'), recorded(armGraph(TRAIN, 'none'), trainSets(out, 'none-s0', 5, 0)));
  writeFileSync(join(out, 'none-s0', 'run.json'), JSON.stringify({ status: 'done' }));
  let stderr = '';
  try {
    execFileSync(process.execPath, [...ABLATION, '--out', out, '--arms', 'none', '--seeds', '0', '--steps', '7', '--eval', '8'], { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    stderr = String((e as { stderr?: string }).stderr);
  }
  assert.match(stderr, /none-s0 holds a run of other settings \(nodes train differ/);
  assert.not.ok(existsSync(join(out, 'none-s0.log')), 'nothing was trained');
  assert.is(JSON.parse(readFileSync(join(out, 'none-s0', 'run.json'), 'utf8')).status, 'done', 'the old record is kept');
});

test('ablation: an evaluation that started before its weights were last written is redone', () => {
  const out = tempDir('ablation-old-eval');
  mkdirSync(join(out, 'none-s0', 'train'), { recursive: true });
  writeFileSync(join(out, 'none-s0', 'graph.json'), recorded(armGraph(TRAIN, 'none'), trainSets(out, 'none-s0', 7, 0)));
  writeFileSync(join(out, 'none-s0', 'run.json'), JSON.stringify({ status: 'done' }));
  const weights = join(out, 'none-s0', 'train', 'weights.safetensors');
  writeFileSync(weights, 'not weights');
  mkdirSync(join(out, 'none-s0-eval8'));
  writeFileSync(join(out, 'none-s0-eval8', 'graph.json'), recorded(GENERATE, [`model.checkpoint=${weights}`, 'testData.test=8']));
  writeFileSync(join(out, 'none-s0-eval8', 'run.json'), JSON.stringify({ status: 'done', startedAt: '2000-01-01T00:00:00.000Z' }));
  let stdout = '';
  try {
    execFileSync(process.execPath, [...ABLATION, '--out', out, '--arms', 'none', '--seeds', '0', '--steps', '7', '--eval', '8'], { encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    stdout = String((e as { stdout?: string }).stdout); // the rerun fails on these fake weights, after deciding to run
  }
  assert.match(stdout, /none-s0: reusing the finished run/);
  assert.match(stdout, /none-s0: evaluating on 8 test samples/);
});

test.run();
