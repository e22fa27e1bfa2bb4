/**
 * One comparison image for docs/results.md: per row a held-out test sample — its references, then
 * the generation of each ablation arm (same noise), then the ground truth.
 *
 *   node --import ./core/loader/register.mjs bench/mosaic/compare.ts --out runs/ablation --ids test-0000005,… --file docs/results/compare.png
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { opt } from './benchArgs.ts';
import { blit, canvas, rect, SLOT_COLORS } from 'tessera/image';
import { decodePng, encodePng } from 'tessera/image';
import { DEFAULT_CONFIG, generateSample } from '../../plugins/semalign/sample.ts';

const out = opt('out') ?? 'runs/ablation';
const evalDir = opt('eval') ?? 'eval384';
const arms = (opt('arms') ?? 'none,scal,mdl,full').split(',');
const ids = (opt('ids') ?? '').split(',').filter(Boolean);
const scale = Number(opt('scale') ?? '2');
const GAP = 6;

// The evaluation graph's test split: seed 0, K uniform in 1..6.
const config = { ...DEFAULT_CONFIG, seed: 0, kMin: 1, kMax: 6, dip: 'none' as const };
const rows = ids.map((id) => generateSample(config, { split: 'test', index: Number(id.split('-')[1]) }));
const T = 64 * scale;
const R = 32 * scale;
const refW = 2 * (R + GAP);
const rowH = (k: number) => Math.max(T, Math.ceil(k / 2) * (R + GAP));
const W = GAP + refW + (arms.length + 1) * (T + GAP) + GAP;
const H = rows.reduce((h, s) => h + rowH(s.refs.length) + GAP, GAP);
const img = canvas(W, H, 235);
let y = GAP;
for (const s of rows) {
  s.refs.forEach((r, i) => {
    const x = GAP + (i % 2) * (R + GAP);
    const yy = y + Math.floor(i / 2) * (R + GAP);
    blit(img, r, x, yy, scale);
    rect(img, x - 1, yy - 1, R + 2, R + 2, SLOT_COLORS[i]!);
  });
  let x = GAP + refW + GAP;
  for (const arm of arms) {
    const file = join(out, `${arm}-${evalDir}`, 'generated', `${s.annotation.id}.png`);
    blit(img, decodePng(await readFile(file), file, 3), x, y, scale);
    x += T + GAP;
  }
  blit(img, s.target, x, y, scale);
  y += rowH(s.refs.length) + GAP;
}
await writeFile(opt('file') ?? 'compare.png', encodePng(img));
console.log(`columns: references | ${arms.join(' | ')} | ground truth; ${rows.length} rows`);
