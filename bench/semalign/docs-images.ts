// Regenerates the pictures in docs/images/semalign/ (committed):
//
//   node --import tsx bench/semalign/docs-images.ts
//
// contact-k1-6.png: one sample for each K = 1..6 with correspondence lines;
// dip-pair.png: one DIP preference pair (references, winner, loser, prior mask).
import { writeFileSync } from 'node:fs';
import { contactSheet } from '../../plugins/semalign/draw.ts';
import { encodePng } from 'tessera/image';
import { DEFAULT_CONFIG, generateSample } from '../../plugins/semalign/sample.ts';

const out = 'docs/images/semalign';
const config = { ...DEFAULT_CONFIG, seed: 2026 };
const byK = [1, 2, 3, 4, 5, 6].map((k) => generateSample(config, { split: 'test', index: k, k }));
writeFileSync(`${out}/contact-k1-6.png`, encodePng(contactSheet(byK, { scale: 4, lines: 8, dip: false })));
// The first K = 3 sample (from index 40) whose loser leaks another subject's colors: the most
// visible kind of disruption for a picture.
let index = 40;
while (generateSample({ ...config, dip: 'attribute' }, { split: 'test', index, k: 3 }).annotation.dip!.kind !== 'color') index++;
const dip = generateSample({ ...config, dip: 'attribute' }, { split: 'test', index, k: 3 });
writeFileSync(`${out}/dip-pair.png`, encodePng(contactSheet([dip], { scale: 4, lines: 0, dip: true })));
console.log(`wrote ${out}/contact-k1-6.png and ${out}/dip-pair.png; DIP: ${JSON.stringify(dip.annotation.dip)}`);
