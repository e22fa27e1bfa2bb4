// The exported gradient-check helper: passes a correct gradient, names the element of a wrong one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gradCheck, ops as o } from 'tessera/kernels';

test('gradCheck passes a correct gradient and counts every element', async () => {
  const r = await gradCheck((_, x) => o.tanh(o.mul(x.a!, x.b!)), { a: { shape: [2, 3] }, b: { shape: [3] } });
  assert.ok(r.ok, r.summary);
  assert.is(r.checked, 9);
  assert.ok(r.maxRel < 1e-6);
  assert.match(r.summary, /gradients match \(9 elements/);
});

test('gradCheck fails a wrong gradient (stopGradient hides one factor) and names the worst element', async () => {
  // d/da (sg(a)·a) is a by autodiff but 2a by finite differences.
  const r = await gradCheck((_, x) => o.mul(o.stopGradient(x.a!), x.a!).sum(), { a: { shape: [3], values: [0.1, -0.3, 0.2] } }, { tol: 1e-6 });
  assert.not.ok(r.ok);
  assert.equal(r.worst?.input, 'a');
  assert.is(r.worst?.index, 1, 'the error is |a_i|: largest at a[1]');
  assert.ok(Math.abs(r.worst!.numeric - 2 * r.worst!.analytic) < 1e-6, `${r.worst!.numeric} vs ${r.worst!.analytic}`);
  assert.match(r.summary, /gradient mismatch: .* at a\[1\] \(autodiff/);
});

test('gradCheck refuses values that do not fit the shape', async () => {
  try {
    await gradCheck((_, x) => x.a!.sum(), { a: { shape: [2, 2], values: [1, 2, 3] } });
    assert.unreachable('should throw');
  } catch (error) {
    assert.match((error as Error).message, /input "a" has 3 values for shape \[2, 2\] \(4 elements\)/);
  }
});

test.run();
