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
      writeFileSync(join(out, name, 'run.json'), JSON.stringify({ status: 'done', results: { train: { summary: { steps, seconds: 1, samplesPerSecond: 2 } } } }));
      writeFileSync(join(out, name, 'train', 'history.json'), JSON.stringify([{ step: 1, loss: 0.5 }]));
      const rng = new Rng(seed * 10 + arm.length);
      const perSample = samples.map((s) => evaluateSample(s, arm === 'scal' ? s.target : counterfactual(s, 'noise', rng)));
      mkdirSync(join(out, `${name}-eval36`, 'metrics'), { recursive: true });
      writeFileSync(join(out, `${name}-eval36`, 'run.json'), JSON.stringify({ status: 'done' }));
      writeFileSync(join(out, `${name}-eval36`, 'metrics', 'metrics.json'), JSON.stringify({ perK: [], perSample, baselines }));
    }
  }
  const log = execFileSync(process.execPath, ['--import', './core/loader/register.mjs', 'bench/mosaic/ablation.ts', '--out', out, '--arms', 'none,scal,mdl', '--steps', String(steps), '--eval', '36', '--resamples', '500'], { encoding: 'utf8' });
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

test.run();
