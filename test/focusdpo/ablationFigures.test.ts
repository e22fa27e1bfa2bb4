import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { curvesSvg, seedMeanCurve, sideBySide } from '../../bench/focusdpo/figures.ts';
import { canvas } from 'tessera/image';
import type { HistoryRow } from '../../plugins/train/lossCurve.ts';

test('seedMeanCurve: per step, the mean over seeds of each smoothed series; steps a seed lacks use the others', () => {
  const a: HistoryRow[] = [{ step: 1, loss: 0, acc: 1 }, { step: 2, loss: 0, acc: 0 }];
  const b: HistoryRow[] = [{ step: 1, loss: 0, acc: 0 }, { step: 2, loss: 0 }, { step: 3, loss: 0, acc: 1 }];
  const c = seedMeanCurve([a, b], 'acc', 0.5);
  // a: EMA 1, 0.5; b: EMA 0, (no value: carries 0), 0.5
  assert.equal(c, [{ step: 1, value: 0.5 }, { step: 2, value: 0.25 }, { step: 3, value: 0.5 }]);
  assert.equal(seedMeanCurve([a], 'margin', 0.5), [], 'an unlogged key has no points');
});

test('curvesSvg: one line per arm with its seed count, the reference line, no NaN coordinates', () => {
  const run = (v: number) => Array.from({ length: 10 }, (_, i) => ({ step: i + 1, loss: 0, acc: v + i / 20 }));
  const svg = curvesSvg([{ label: 'dpo', runs: [run(0.4), run(0.5)] }, { label: 'full', runs: [run(0.6)] }], [{ key: 'acc', title: 'implicit accuracy', reference: 0.5 }]);
  assert.is(svg.match(/<polyline/g)?.length, 2);
  assert.match(svg, /dpo \(2 seeds\)/);
  assert.match(svg, /full \(1 seeds\)/);
  assert.match(svg, /stroke-dasharray/);
  assert.not.match(svg, /NaN/);
});

test('sideBySide: left then right at full size, white gap between', () => {
  const l = canvas(2, 3, 10);
  const r = canvas(4, 2, 20);
  const out = sideBySide(l, r, 1);
  assert.equal([out.width, out.height], [7, 3]);
  assert.is(out.data[0], 10);
  assert.is(out.data[2 * 3], 255, 'gap');
  assert.is(out.data[3 * 3], 20);
  assert.is(out.data[(2 * 7 + 3) * 3], 255, 'below the shorter image');
});

test.run();
