/**
 * Scores trained MOSAIC weights against the model-free baselines on held-out test samples:
 * runs the generate graph once per weights file (one file per training seed; a finished
 * evaluation is reused only when its recorded graph is the generate graph with the same weights
 * path, sample count and settings, and it started after the weights file was last written), then writes per-metric tables with paired cluster-bootstrap CIs in which
 * the model is the reference arm — a baseline cell is bold where the CI of its difference to the
 * model excludes 0 — and the per-K difference tables (metrics' comparisonMarkdown).
 *
 *   node --import ./core/loader/register.mjs bench/mosaic/evaluate.ts --weights a.safetensors[,b,c] \
 *     [--generate graphs/mosaic-generate.json] [--eval 384] [--out runs/evaluate] [--label "MOSAIC v2"] [--resamples 2000] [-s node.param=value …]
 *
 * Extra `-s` settings go to every generate run (e.g. `-s sample.steps=30`).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from 'tessera';
import { join, resolve } from 'node:path';
import { compareArms, comparisonMarkdown, COMPARED, metricMarkdown } from '../../plugins/metrics/index.ts';
import { comparedArms, type MetricsJson } from './armTable.ts';
import { machineLine, opt, runLogged } from './benchArgs.ts';
import { isReusable } from './recordedRun.ts';

const weights = (opt('weights') ?? '').split(',').filter(Boolean);
if (!weights.length) throw new Error('usage: evaluate.ts --weights <file>[,<file>…] [--generate graph] [--eval N] [--out dir]');
const generate = opt('generate') ?? 'graphs/mosaic-generate.json';
const evalCount = Number(opt('eval') ?? '384');
const out = resolve(opt('out') ?? 'runs/evaluate');
const label = opt('label') ?? 'model';
const resamples = Number(opt('resamples') ?? '2000');
const extra = process.argv.flatMap((a, i) => (a === '-s' ? ['-s', process.argv[i + 1]!] : []));
await mkdir(out, { recursive: true });

const runs: MetricsJson[] = [];
const seconds: (number | null)[] = [];
for (const [i, w] of weights.entries()) {
  const dir = join(out, `w${i}-eval${evalCount}`);
  let wall: number | null = null;
  const sets = [`model.checkpoint=${resolve(w)}`, `testData.test=${evalCount}`, ...extra.filter((_, j) => j % 2)];
  if (!(await isReusable(dir, generate, sets, [w]))) {
    console.log(`evaluating ${w} on ${evalCount} test samples → ${dir}`);
    const t0 = performance.now();
    const args = ['bin/tessera.mjs', 'run', generate, '--allow-outside-workspace', '-o', dir, '--force', ...sets.flatMap((x) => ['-s', x]), '--json'];
    const code = await runLogged(process.execPath, args, join(out, `w${i}.log`));
    if (code !== 0) throw new Error(`tessera run exited ${code} (see ${join(out, `w${i}.log`)})`);
    wall = (performance.now() - t0) / 1000;
  } else console.log(`reusing the finished evaluation in ${dir}`);
  seconds.push(wall);
  runs.push(JSON.parse(await readFile(join(dir, 'metrics', 'metrics.json'), 'utf8')) as MetricsJson);
}

const table = comparedArms([{ name: 'model', label, runs }]);
const boot = { reference: 'model', resamples, seed: 0, level: 0.95 };
const comparison = compareArms(table.arms, table.kOf, boot);
const lines = [
  `Cells: mean [95 % CI], paired bootstrap over the ${table.samples} held-out samples (${resamples} resamples${weights.length > 1 ? `; the ${weights.length} weight files averaged within each resample` : ''}). **Bold**: the CI of the difference to ${label} excludes 0.`,
  '',
];
for (const c of COMPARED) if (comparison.some((t) => t.rows.some((r) => r.cells[c.key]))) lines.push(metricMarkdown(comparison, c.key, `${c.title} (${c.higherIsBetter ? '↑' : '↓'})`));
lines.push('### Differences per K', '', comparisonMarkdown(comparison, { reference: 'model', resamples, level: 0.95 }));
const machine = machineLine();
lines.push(`Weights: ${weights.join(', ')}; graph ${generate}${extra.length ? ` with ${extra.filter((_, i) => i % 2).join(' ')}` : ''}; measured on ${machine}; evaluation wall s: ${seconds.map((s) => (s === null ? 'reused' : s.toFixed(0))).join(', ')}.`);
await writeFileAtomic(join(out, 'evaluate.md'), lines.join('\n') + '\n');
await writeFileAtomic(join(out, 'evaluate.json'), JSON.stringify({ machine, weights, generate, evalCount, bootstrap: boot, comparison }, null, 1) + '\n');
console.log(lines.join('\n'));
