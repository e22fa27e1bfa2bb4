// Large-sample sanity statistics of the identity-retrieval metric (the tests check smaller sets):
//
//   node --import tsx bench/semalign/metric-sanity.ts [--scenes 1200]
//
// Ground truth (should be ~100 %), uniform noise (should be at chance, z-score), and the first two
// subjects swapped (should fail exactly on the swapped pair). Figures are quoted in docs/metrics.md.
import { Rng } from 'tessera';
import { evaluateSample } from '../../plugins/metrics/evaluate.ts';
import { counterfactual } from '../../plugins/metrics/nodes.ts';
import { DEFAULT_CONFIG, generateSample } from '../../plugins/semalign/sample.ts';

const i = process.argv.indexOf('--scenes');
const scenes = i > 0 ? Number(process.argv[i + 1]) : 1200;
const rng = new Rng(1);
let gtOk = 0;
let gtN = 0;
let noiseOk = 0;
let noiseExp = 0;
let noiseVar = 0;
let swapExact = 0;
let swapN = 0;
let swappedSelf = 0;
let unswappedWrong = 0;
const misses: string[] = [];
for (let n = 0; n < scenes; n++) {
  const split = (['train', 'val', 'test'] as const)[n % 3]!;
  const k = 1 + (n % 8);
  const s = generateSample(DEFAULT_CONFIG, { split, index: 10_000 + n, k });
  const gt = evaluateSample(s, s.target);
  for (const sub of gt.subjects) {
    gtN++;
    if (sub.correct) gtOk++;
    else misses.push(`${s.annotation.id} slot ${sub.slot} → ${sub.predicted}`);
  }
  const noise = evaluateSample(s, counterfactual(s, 'noise', rng));
  for (const sub of noise.subjects) {
    if (sub.correct === null) continue;
    noiseOk += sub.correct ? 1 : 0;
    noiseExp += 1 / k;
    noiseVar += (1 / k) * (1 - 1 / k);
  }
  if (k >= 2) {
    const m = evaluateSample(s, counterfactual(s, 'swap', rng));
    swapN++;
    if (m.subjects.map((x) => x.predicted).join() === m.subjects.map((_, j) => (j === 0 ? 1 : j === 1 ? 0 : j)).join()) swapExact++;
    swappedSelf += m.subjects.slice(0, 2).filter((x) => x.correct).length;
    unswappedWrong += m.subjects.slice(2).filter((x) => x.correct === false).length;
  }
}
console.log(
  JSON.stringify({
    scenes,
    groundTruth: { subjects: gtN, correct: gtOk, misses },
    noise: { correct: noiseOk, expectedAtChance: +noiseExp.toFixed(1), z: +((noiseOk - noiseExp) / Math.sqrt(noiseVar)).toFixed(2) },
    swap: { scenes: swapN, exactPattern: swapExact, swappedRetrievedAsThemselves: swappedSelf, of: 2 * swapN, unswappedWrong },
  }, null, 1),
);
