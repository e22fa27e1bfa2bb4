/**
 * Chance levels and model-free baselines on the evaluation graph's held-out test split (seed 0,
 * K uniform in 1..6), scored by plugins/metrics exactly as a model is; the numbers in
 * docs/metrics.md come from this script. No model, no training: seconds.
 *
 *   node --import ./core/loader/register.mjs bench/mosaic/baselines.ts [--samples 600] [--json PATH]
 */
import { writeFile } from 'node:fs/promises';
import { num, opt } from './benchArgs.ts';
import { aggregateByK, BASELINES, boxAttention, evaluateBaselines, evaluateSample, pckAtRadii, type SampleMetrics } from '../../plugins/metrics/index.ts';
import { DEFAULT_CONFIG, generateSample } from '../../plugins/semalign/index.ts';

const n = num('samples', 600, 1);
const radii = [0, 1, 2];
// The test split of graphs/mosaic-generate.json: seed 0, K = 1..6, no DIP pairs.
const config = { ...DEFAULT_CONFIG, seed: 0, kMin: 1, kMax: 6, dip: 'none' as const };
const samples = Array.from({ length: n }, (_, i) => generateSample(config, { split: 'test', index: i }));
const gt = samples.map((s) => evaluateSample(s, s.target));
const scored = evaluateBaselines(samples, radii);
const byK = aggregateByK(gt);
const ks = byK.map((r) => r.k);
const meanAt = (rows: readonly SampleMetrics[], k: number, f: (m: SampleMetrics) => number | null | undefined) => {
  const v = rows.filter((m) => m.k === k).map(f).filter((x): x is number => typeof x === 'number');
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
};
const fmt = (v: number | null, d = 3) => (v === null ? '–' : v.toFixed(d));
const lines = [`${n} test samples (seed 0, K = 1..6); per-K samples ${byK.map((r) => `K=${r.k}: ${r.samples}`).join(', ')}`, ''];
lines.push(`| chance | ${ks.map((k) => `K=${k}`).join(' | ')} |`, `|---|${ks.map(() => '---:').join('|')}|`);
lines.push(`| 1/K (not chance) | ${ks.map((k) => fmt(1 / k)).join(' | ')} |`);
lines.push(`| retrieval E[1/\\|C\\|] | ${byK.map((r) => fmt(r.chance)).join(' | ')} |`);
const chance = new Map((['box-uniform', 'box-centre'] as const).map((mode) => [mode, samples.map((s) => ({ k: s.annotation.k, pck: pckAtRadii(s, boxAttention(s, mode), radii) }))]));
for (const [mode, rows] of chance) {
  for (const r of radii) {
    const cells = ks.map((k) => {
      const v = rows.filter((x) => x.k === k).map((x) => x.pck[`pck@${r}`]).filter((x): x is number => typeof x === 'number');
      return fmt(v.length ? v.reduce((a, b) => a + b, 0) / v.length : null);
    });
    lines.push(`| PCK@${r} ${mode} | ${cells.join(' | ')} |`);
  }
}
lines.push('');
const cols: [string, (m: SampleMetrics) => number | null | undefined, number][] = [
  ['subject PSNR dB', (m) => m.identityPsnr, 2],
  ['subject SSIM', (m) => m.subjectSsim, 3],
  ['edge correlation', (m) => m.edgeCorr, 3],
  ['descriptor cosine', (m) => m.descriptorCos, 3],
  ['retrieval (per-sample mean)', (m) => m.retrievalAcc, 3],
  ['PCK@1', (m) => m.pck['pck@1'], 3],
];
lines.push(`| baseline | metric | ${ks.map((k) => `K=${k}`).join(' | ')} |`, `|---|---|${ks.map(() => '---:').join('|')}|`);
for (const name of BASELINES) {
  for (const [title, f, d] of cols) {
    const rows = scored.get(name)!;
    if (ks.every((k) => meanAt(rows, k, f) === null)) continue;
    lines.push(`| ${name} | ${title} | ${ks.map((k) => fmt(meanAt(rows, k, f), d)).join(' | ')} |`);
  }
}
console.log(lines.join('\n'));
const json = opt('json');
if (json) await writeFile(json, JSON.stringify({ samples: n, perK: byK, baselines: Object.fromEntries([...scored].map(([k, v]) => [k, aggregateByK(v)])) }, null, 1) + '\n');
