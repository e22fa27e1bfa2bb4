import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluateSample } from '../../plugins/metrics/evaluate.ts';
import { aggregateByK, kTable, plotSvg, sampleTable, toCsv } from '../../plugins/metrics/report.ts';
import { fixtures } from '../semalign/helpers.ts';

test('per-K aggregation pools retrieval, sums confusion, carries the measured chance E[1/|C|]', () => {
  const rows = fixtures(6, [2, 3]).map((s) => evaluateSample(s, s.target));
  const byK = aggregateByK(rows);
  assert.equal(byK.map((r) => r.k), [2, 3]);
  assert.equal(byK.map((r) => r.samples), [3, 3]);
  assert.is(byK[0]!.chance, byK[0]!.means.retrievalChance);
  assert.ok(byK[1]!.chance! >= 1 / 3 && byK[1]!.chance! <= 1);
  assert.equal(byK[0]!.confusion, [[3, 0], [0, 3]]);
  assert.is(byK[1]!.means.retrievalAcc, 1);
  const t = kTable(byK);
  assert.equal(t.header.slice(0, 4), ['k', 'samples', 'subjects', 'chance']);
  const st = sampleTable(rows);
  assert.is(st.rows.length, 6);
});

test('CSV quotes what needs quoting and leaves null cells empty', () => {
  assert.is(toCsv(['a', 'b', 'c'], [['x,y', null, 0.5], ['say "hi"', 2, 1 / 3]]), 'a,b,c\n"x,y",,0.500000\n"say ""hi""",2,0.333333\n');
});

test('SVG plot is self-contained with a data line and an optional chance line', () => {
  const svg = plotSvg('retrievalAcc vs K <gt>', [{ k: 1, value: 1 }, { k: 2, value: 0.5 }, { k: 3, value: null }], { label: 'chance', points: [{ k: 1, value: 1 }, { k: 2, value: 0.5 }] });
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /&lt;gt&gt;/);
  assert.is(svg.match(/<polyline/g)!.length, 2);
  assert.is(svg.match(/<circle/g)!.length, 2);
  assert.match(svg, /<\/svg>\n$/);
});

test.run();
