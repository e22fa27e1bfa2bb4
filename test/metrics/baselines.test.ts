import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { affineAttention, baselineImage, boxAttention, meanColourFill, uprightPaste } from '../../plugins/metrics/baselines.ts';
import { evaluateSample, pckAtRadii } from '../../plugins/metrics/evaluate.ts';
import { evaluateBaselines } from '../../plugins/metrics/modelFreeArms.ts';
import { aggregateByK } from '../../plugins/metrics/report.ts';
import type { SemAlignSample } from '../../plugins/semalign/sample.ts';
import { fixtures } from '../semalign/helpers.ts';

const samples = fixtures(60, [1, 2, 3, 4, 5, 6], { dip: 'none' }, 'test');
const scored = evaluateBaselines(samples, [0, 1, 2]);
const gt = samples.map((s) => evaluateSample(s, s.target));
const mean = (rows: readonly object[], key: string) => {
  const v = rows.map((r) => (r as Record<string, unknown>)[key]).filter((x): x is number => typeof x === 'number');
  return v.reduce((a, b) => a + b, 0) / v.length;
};

test('subject structure: mean-colour fill is far below the pose-oracle paste and the ground truth, though it wins plain PSNR over upright paste', () => {
  const fill = scored.get('mean-fill')!;
  const oracle = scored.get('oracle-paste')!;
  const upright = scored.get('upright-paste')!;
  // The finding, reproduced: on identity PSNR a flat fill beats pasting the reference.
  assert.ok(mean(fill, 'identityPsnr') > mean(upright, 'identityPsnr') + 0.5, `PSNR fill ${mean(fill, 'identityPsnr')} vs upright ${mean(upright, 'identityPsnr')}`);
  // Measured (60 test samples, K = 1..6): SSIM fill 0.13, oracle 0.87, truth 1; edge correlation fill 0, oracle 0.93.
  assert.ok(mean(fill, 'subjectSsim') < mean(oracle, 'subjectSsim') - 0.4, `SSIM fill ${mean(fill, 'subjectSsim')} vs oracle ${mean(oracle, 'subjectSsim')}`);
  assert.ok(mean(oracle, 'subjectSsim') < mean(gt, 'subjectSsim'));
  assert.is(mean(gt, 'subjectSsim'), 1);
  assert.is(mean(gt, 'edgeCorr'), 1);
  for (const r of fill) assert.ok(r.edgeCorr === null || r.edgeCorr === 0, `${r.id}: a flat fill has no edges to correlate (${r.edgeCorr})`);
  assert.ok(mean(oracle, 'edgeCorr') > 0.8);
  // And per sample the fill never beats the oracle on structure.
  fill.forEach((r, i) => assert.ok(r.subjectSsim! < oracle[i]!.subjectSsim!, `${r.id}: fill SSIM ${r.subjectSsim} ≥ oracle ${oracle[i]!.subjectSsim}`));
});

test('the oracle paste scores PCK 1 through its implied correspondence; the upright paste does not', () => {
  assert.is(mean(scored.get('oracle-paste')!.map((r) => r.pck), 'pck@0'), 1);
  const up = mean(scored.get('upright-paste')!.map((r) => r.pck), 'pck@1');
  assert.ok(up > 0.3 && up < 0.95, `upright PCK@1 ${up}`);
  assert.equal(scored.get('mean-fill')![0]!.pck, {}, 'a fill has no correspondence');
});

/** The sample with every subject's ground-truth pose replaced (what a model is not told). */
function rePosed(s: SemAlignSample): SemAlignSample {
  const subjects = s.annotation.subjects.map((sub) => ({ ...sub, pose: { ...sub.pose, rotationDeg: 33, flip: !sub.pose.flip }, refToTarget: [0, 1, 0, 1, 0, 0] as const }));
  return { ...s, annotation: { ...s.annotation, subjects }, target: { ...s.target, data: new Uint8Array(s.target.data.length) } };
}

test('model-free baselines use only the boxes and references: changing the ground-truth pose and target changes nothing', () => {
  for (const s of samples.slice(0, 12)) {
    const r = rePosed(s);
    assert.equal(uprightPaste(r).data, uprightPaste(s).data);
    assert.equal(meanColourFill(r).data, meanColourFill(s).data);
    assert.not.equal(baselineImage(r, 'oracle-paste').data, baselineImage(s, 'oracle-paste').data, 'the oracle does use the pose');
  }
});

test('retrieval chance is E[1/|C|] over subjects, between 1/K and 1', () => {
  const byK = aggregateByK(gt);
  for (const row of byK) {
    const subjects = gt.filter((m) => m.k === row.k).flatMap((m) => m.subjects.filter((x) => x.correct !== null));
    const want = subjects.reduce((a, x) => a + 1 / x.candidates, 0) / subjects.length;
    assert.ok(Math.abs(row.chance! - want) < 1e-12);
    assert.ok(row.chance! >= 1 / row.k - 1e-12 && row.chance! <= 1);
    if (row.k === 1) assert.is(row.chance, 1);
  }
  // The candidate filter leaves fewer than K candidates: chance above 1/K at K ≥ 4 on this set.
  assert.ok(byK.filter((r) => r.k >= 4).every((r) => r.chance! > 1 / r.k + 0.01));
});

test('PCK counts tied maxima as a uniform draw: a uniform row scores the share of patches within r', () => {
  const s = samples[1]!;
  const c = s.annotation.correspondence;
  const nt = c.targetGrid[0] * c.targetGrid[1];
  const rows = s.annotation.k * c.refGrid[0] * c.refGrid[1];
  const flat = { shape: [rows, nt], data: new Float32Array(rows * nt).fill(1) };
  assert.ok(Math.abs(pckAtRadii(s, flat, [0])['pck@0']! - 1 / nt) < 1e-12);
  // Box-uniform lies between the flat map and the box-centre one-hot on average.
  const u = mean(samples.map((x) => pckAtRadii(x, boxAttention(x, 'box-uniform'), [1])), 'pck@1');
  const ctr = mean(samples.map((x) => pckAtRadii(x, boxAttention(x, 'box-centre'), [1])), 'pck@1');
  assert.ok(u > 0.05 && u < ctr && ctr < 0.8, `uniform ${u}, centre ${ctr}`);
  // The exact transform's implied attention is the oracle.
  assert.is(pckAtRadii(s, affineAttention(s, s.annotation.subjects.map((x) => x.refToTarget)), [0])['pck@0'], 1);
});

test.run();
