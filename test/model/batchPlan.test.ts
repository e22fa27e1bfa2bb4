// The one batching plan model/Sample and mosaic/Sample share (public through 'tessera/model'):
// batches of one static size that cover every index once, in order, and the evaluation count.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { evaluations, planBatches } from 'tessera/model';

test('planBatches: equal batch sizes ≤ batchSize, every index once and in order, the last short by less than the batch count', () => {
  for (const n of [1, 2, 5, 8, 9, 17, 100]) {
    for (const bs of [1, 3, 8, 64]) {
      const indices = Array.from({ length: n }, (_, i) => 10 + 2 * i);
      const { size, batches } = planBatches(indices, bs);
      assert.ok(size >= 1 && size <= bs, `n ${n} bs ${bs}: size ${size}`);
      assert.is(batches.length, Math.ceil(n / bs), `n ${n} bs ${bs}: batch count`);
      assert.equal(batches.flat(), indices, `n ${n} bs ${bs}: indices covered once, in order`);
      batches.slice(0, -1).forEach((b) => assert.is(b.length, size));
      assert.ok(size - batches.at(-1)!.length < batches.length, `n ${n} bs ${bs}: padding below the batch count`);
    }
  }
  assert.equal(planBatches([4, 5, 6, 7, 8], 4), { size: 3, batches: [[4, 5, 6], [7, 8]] });
  assert.throws(() => planBatches([1], 0), /batchSize must be a positive integer/);
});

test('evaluations: euler one per step, heun two per step but the last', () => {
  assert.is(evaluations(5), 5);
  assert.is(evaluations(5, 'euler'), 5);
  assert.is(evaluations(5, 'heun'), 9);
  assert.is(evaluations(1, 'heun'), 1);
});

test.run();
