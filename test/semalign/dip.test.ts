import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { poseBounds } from '../../plugins/semalign/render.ts';
import { fixtures } from './helpers.ts';

test('DIP masks cover exactly the changed pixels, all inside the disrupted subject', () => {
  const kinds = new Map<string, number>();
  for (const s of fixtures(60, [1, 2, 3, 4, 5, 6, 7, 8])) {
    const a = s.annotation;
    const dip = a.dip!;
    assert.ok(dip && s.loser && s.dipMask, `${a.id}: no DIP pair`);
    kinds.set(dip.kind, (kinds.get(dip.kind) ?? 0) + 1);
    const W = a.target.width;
    const [x0, y0, x1, y1] = poseBounds(a.subjects[dip.slot]!.pose, W, W);
    let changed = 0;
    for (let p = 0; p < W * W; p++) {
      const diff = [0, 1, 2].some((c) => s.loser!.data[3 * p + c] !== s.target.data[3 * p + c]);
      assert.is(s.dipMask.data[p], diff ? 255 : 0, `${a.id}: mask wrong at pixel ${p}`);
      if (!diff) continue;
      changed++;
      const x = p % W;
      const y = Math.floor(p / W);
      assert.ok(x >= x0 && x < x1 && y >= y0 && y < y1, `${a.id}: changed pixel ${x},${y} outside subject ${dip.slot}`);
    }
    assert.is(changed, dip.changedPixels);
    assert.ok(changed > 0);
    if (a.k === 1) assert.is(dip.kind, 'swap');
    if (dip.kind === 'swap') assert.ok(dip.replacementIdentity !== null && dip.sourceSlot === null);
    else assert.ok(dip.sourceSlot !== null && dip.sourceSlot !== dip.slot && dip.replacementIdentity === null);
  }
  for (const k of ['swap', 'color', 'texture']) assert.ok((kinds.get(k) ?? 0) > 5, `mixed mode makes ${k} pairs`);
});

test('dip modes: swap only, attribute only, none', () => {
  for (const s of fixtures(12, [2, 4], { dip: 'swap' })) assert.is(s.annotation.dip!.kind, 'swap');
  for (const s of fixtures(12, [2, 4], { dip: 'attribute' })) assert.ok(['color', 'texture', 'swap'].includes(s.annotation.dip!.kind));
  const attr = fixtures(12, [2, 4], { dip: 'attribute' }).filter((s) => s.annotation.dip!.kind !== 'swap').length;
  assert.ok(attr >= 10, 'attribute mode leaks attributes (swap only as a fallback for a no-op leak)');
  for (const s of fixtures(4, [3], { dip: 'none' })) {
    assert.is(s.annotation.dip, null);
    assert.is(s.loser, undefined);
  }
});

test.run();
