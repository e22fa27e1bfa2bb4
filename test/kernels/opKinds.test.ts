// Typed op kinds: every taped op is declared differentiable (with a VJP rule) or explicitly
// non-differentiable. The compile-time half lives in `_typeChecks` below: `npx tsc --noEmit -p .`
// fails if any of its @ts-expect-error lines stops being an error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph, TraceError, grad, ops as o, type Sym } from '../../kernels/index.ts';
import { VJPS, type VjpTable } from '../../kernels/autodiff/vjps.ts';
import { DIFFERENTIABLE_OPS, NON_DIFFERENTIABLE_OPS, type OpKind } from '../../kernels/trace/opKinds.ts';
import { throwsWith } from './util.ts';

// Never called: type-checked only.
function _typeChecks(g: Graph, x: Sym): void {
  // @ts-expect-error an op kind in neither list cannot be taped
  g.record('madeUpOp', [x], [x]);
  const { conv2d: _dropped, ...withoutConv } = VJPS;
  // @ts-expect-error a differentiable kind without a gradient rule does not type-check
  const _incomplete: VjpTable = withoutConv;
  // @ts-expect-error nor does a rule for a kind marked non-differentiable
  const _extra: VjpTable = { ...VJPS, stopGradient: () => [null] };
}

test('VJPS has a rule for exactly the differentiable kinds; the two lists are disjoint', () => {
  assert.equal(Object.keys(VJPS).sort(), [...DIFFERENTIABLE_OPS].sort());
  const both = DIFFERENTIABLE_OPS.filter((k) => (NON_DIFFERENTIABLE_OPS as readonly string[]).includes(k));
  assert.equal(both, []);
});

test('tracing every op tapes exactly the declared kinds (no stale or missing entries)', () => {
  const g = new Graph();
  const x = g.input('x', [2, 3]);
  const m = g.input('m', [3, 2]);
  const img = g.input('img', [1, 1, 4, 4]);
  const k = g.input('k', [1, 1, 2, 2]);
  const b = o.greater(x, 0);
  const pieces = [
    o.add(x, 1), o.sub(x, 1), o.mul(x, 2), o.div(x, 2), o.pow(x, 2), o.maximum(x, 0), o.minimum(x, 0),
    o.neg(x), o.abs(x), o.exp(x), o.log(x), o.sqrt(x), o.reciprocal(x), o.square(x), o.tanh(x), o.sigmoid(x),
    o.relu(x), o.erf(x), o.gelu(x), o.sin(x), o.cos(x), o.clip(x, 0, 1), o.cast(o.cast(x, 'float64'), 'float32'), o.where(b, x, 0),
    o.sign(x), o.stopGradient(x), o.cast(o.and(o.not(b), o.less(x, 1)), 'float32'),
    o.cast(o.and(o.equal(x, 1), o.and(o.greaterOrEqual(x, 0), o.lessOrEqual(x, 2))), 'float32'),
    o.expand(o.transpose(o.matmul(m, x), [0, 1]).sum(0, true).mean(1, true).max(0, true), [2, 3]),
    o.softmax(x), o.logSoftmax(x), o.gemm(x, m).sum().add(x),
    o.reshape(o.concat(o.split(x, [1, 2], 1), 1), [3, 2]).transpose(),
    o.slice(x, [0], [2], [0]), o.gather(x, [0, 1], 0), o.pad(o.slice(x, [0], [1], [0]), [0, 0, 1, 0]),
    o.layerNorm(x, o.expand(g.constant(1), [3]), null),
    o.conv2d(o.convTranspose2d(img, k, undefined, { stride: 1 }), k).reshape([-1]).sum().add(x),
    o.randomNormal(g, [2, 3]).add(o.randomUniform(g, [2, 3])),
  ];
  assert.ok(pieces.every((p) => p.rank === 2));
  const taped = new Set<OpKind>(g.tape.map((r) => r.op));
  assert.equal([...taped].sort(), [...DIFFERENTIABLE_OPS, ...NON_DIFFERENTIABLE_OPS].sort());
});

test('grad still names an undeclared kind taped from untyped code', () => {
  const g = new Graph({ dtype: 'float64' });
  const x = g.param('x', [2]);
  const y = o.exp(x);
  (g.record as (op: string, i: Sym[], out: Sym[]) => void)('madeUpOp', [x], [y]);
  const e = throwsWith(() => grad(y.sum(), [x]), /^madeUpOp: has no gradient rule \(op at .*opKinds\.test\.ts:\d+:\d+\)/);
  assert.instance(e, TraceError);
});

test.run();
