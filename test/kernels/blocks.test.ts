// Building blocks: forward values against the plain-TS references, gradients against finite differences.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Graph,
  KernelSession,
  Tensor,
  averageMaps,
  flowMatchingNoise,
  gradCheck,
  groupMask,
  jsDivergence,
  multiHeadAttention,
  ops as o,
  restrictedAttentionMap,
  symmetricKL,
  weightedMSE,
  type Sym,
} from '../../kernels/index.ts';
import { SeededRandom } from '../../kernels/trace/init.ts';
import * as ref from './reference.ts';

const rng = new SeededRandom(11);
const rand = (n: number, scale = 1) => Array.from({ length: n }, () => rng.normal() * scale);
const mat = (r: number, c: number, scale = 1): ref.M => Array.from({ length: r }, () => rand(c, scale));
const t64 = (m: ref.M | ref.M[] | number[], shape?: number[]) => Tensor.from(m as number[], shape, 'float64');

async function evaluate(build: (g: Graph) => Record<string, Sym>): Promise<Record<string, number[]>> {
  const g = new Graph({ dtype: 'float64' });
  const outs = build(g);
  const s = await KernelSession.create(g.toModel(outs));
  const r = await s.run({});
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.toArray()]));
}

const close = (a: number[], b: number[], tol = 1e-10) => {
  assert.is(a.length, b.length);
  const err = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
  assert.ok(err < tol, `max error ${err}`);
};

// ---- multi-head attention with a block mask
const T = 5;
const D = 4;
const H = 2;
const W = { wq: mat(D, D, 0.5), wk: mat(D, D, 0.5), wv: mat(D, D, 0.5), wo: mat(D, D, 0.5), bq: rand(D), bk: rand(D), bv: rand(D), bo: rand(D) };
const X = [mat(T, D), mat(T, D)];
// Groups [text 1, target 2, ref₁ 1, ref₂ 1]: everything attends everywhere except ref i ↔ ref j, i ≠ j.
const MASK = groupMask([1, 2, 1, 1], (i, j) => !(i >= 2 && j >= 2 && i !== j));

test('groupMask: a block mask over token groups blocks ref↔ref across references only', () => {
  const m = (r: number, c: number) => MASK.data[r * T + c];
  assert.is(m(3, 4), 0);
  assert.is(m(4, 3), 0);
  assert.is(m(3, 3), 1);
  assert.is(m(1, 3), 1);
  assert.is(m(3, 0), 1);
  assert.is(groupMask([2, 1], (i, j) => i >= j).data.join(''), '110110111');
});

test('multiHeadAttention with block mask matches the reference', async () => {
  const out = await evaluate((g) => {
    const c = (m: ref.M | ref.M[] | number[], shape?: number[]) => g.constant(t64(m, shape));
    const p = { wq: c(W.wq), wk: c(W.wk), wv: c(W.wv), wo: c(W.wo), bq: c(W.bq), bk: c(W.bk), bv: c(W.bv), bo: c(W.bo) };
    return { y: multiHeadAttention(c(X), p, { heads: H, mask: MASK }).out };
  });
  const expected = X.flatMap((x) => ref.attention(x, W, H, Array.from({ length: T }, (_, r) => Array.from({ length: T }, (_, c) => MASK.data[r * T + c] === 1))).flat());
  close(out.y!, expected);
});

test('multiHeadAttention gradients (all weights and input) pass finite differences', async () => {
  const r = await gradCheck(
    (g, x) => multiHeadAttention(x.x!, { wq: x.wq!, wk: x.wk!, wv: x.wv!, wo: x.wo!, bq: x.bq!, bo: x.bo! }, { heads: H, mask: MASK }).out,
    { x: { shape: [1, T, D] }, wq: { shape: [D, D] }, wk: { shape: [D, D] }, wv: { shape: [D, D] }, wo: { shape: [D, D] }, bq: { shape: [D] }, bo: { shape: [D] } },
  );
  assert.ok(r.ok, r.summary);
});

// ---- restricted softmax (correspondence map), averaged over heads and layers
const Q = [mat(3, 2), mat(3, 2)]; // H=2, R=3, d=2
const K = [mat(4, 2), mat(4, 2)]; // H=2, N=4
const Q2 = [mat(3, 2), mat(3, 2)];

test('restrictedAttentionMap + averageMaps match the reference', async () => {
  const out = await evaluate((g) => {
    const q = g.constant(t64(Q.flat(), [1, 2, 3, 2]));
    const k = g.constant(t64(K.flat(), [1, 2, 4, 2]));
    const q2 = g.constant(t64(Q2.flat(), [1, 2, 3, 2]));
    return { a: averageMaps([restrictedAttentionMap(q, k), restrictedAttentionMap(q2, k)]) };
  });
  const a1 = ref.restrictedMap(Q, K);
  const a2 = ref.restrictedMap(Q2, K);
  close(out.a!, a1.flat().map((v, i) => (v + a2.flat()[i]!) / 2));
  for (let r = 0; r < 3; r++) close([out.a!.slice(r * 4, r * 4 + 4).reduce((s, v) => s + v, 0)], [1]);
});

test('restrictedAttentionMap gradients pass finite differences', async () => {
  const r = await gradCheck((_, x) => restrictedAttentionMap(x.q!, x.k!), { q: { shape: [1, 2, 3, 2] }, k: { shape: [1, 2, 4, 2] } });
  assert.ok(r.ok, r.summary);
});

// ---- JSD, symmetric KL (MOSAIC's MDL, built on these, is tested in test/mosaic)
const P = [ref.softmaxRow(rand(5)), ref.softmaxRow(rand(5))];
const Qd = [ref.softmaxRow(rand(5)), ref.softmaxRow(rand(5))];

test('jsDivergence and symmetricKL match the reference row by row', async () => {
  const out = await evaluate((g) => {
    const p = g.constant(t64(P));
    const q = g.constant(t64(Qd));
    return { js: jsDivergence(p, q), sk: symmetricKL(p, q) };
  });
  close(out.js!, P.map((p, i) => ref.jsd(p, Qd[i]!)));
  close(out.sk!, P.map((p, i) => ref.symKL(p, Qd[i]!)));
  assert.ok(out.js!.every((v) => v >= 0 && v <= Math.LN2));
});

test('jsDivergence / symmetricKL gradients through softmax pass finite differences', async () => {
  const r = await gradCheck((_, x) => o.add(jsDivergence(x.a!.softmax(), x.b!.softmax()), symmetricKL(x.a!.softmax(), x.b!.softmax()).mul(0.3)), {
    a: { shape: [2, 4] },
    b: { shape: [2, 4] },
  });
  assert.ok(r.ok, r.summary);
});

// ---- weighted MSE, log-sigmoid, flow matching
test('weightedMSE (mask and per-pixel weights) matches the reference and FD', async () => {
  const p = rand(6);
  const t = rand(6);
  const w = [1, 0, 0.5, 2, 0, 1];
  const out = await evaluate((g) => ({
    l: weightedMSE(g.constant(t64(p, [2, 3])), g.constant(t64(t, [2, 3])), t64(w, [2, 3])),
    m: weightedMSE(g.constant(t64(p, [2, 3])), g.constant(t64(t, [2, 3]))),
  }));
  close(out.l!, [ref.weightedMSE(p, t, w)]);
  close(out.m!, [ref.weightedMSE(p, t, [1, 1, 1, 1, 1, 1])]);
  const r = await gradCheck((_, x) => weightedMSE(x.p!, x.t!, x.w!.square()), { p: { shape: [2, 3] }, t: { shape: [2, 3] }, w: { shape: [1, 3] } });
  assert.ok(r.ok, r.summary);
});

test('logSigmoid matches the reference (stable at ±40)', async () => {
  const xs = [-40, -3, -0.5, 0, 0.7, 3, 40];
  const out = await evaluate((g) => ({ y: o.logSigmoid(g.constant(t64(xs))) }));
  close(out.y!, xs.map(ref.logSigmoid), 1e-12);
});

test('flowMatchingNoise matches the reference and FD', async () => {
  const x0 = rand(6);
  const e = rand(6);
  const ts = [0.25, 0.8];
  const out = await evaluate((g) => flowMatchingNoise(g.constant(t64(x0, [2, 3])), g.constant(t64(e, [2, 3])), g.constant(t64(ts))));
  close(out.xt!, x0.map((v, i) => ref.flowMatching(v, e[i]!, ts[Math.floor(i / 3)]!).xt));
  close(out.target!, x0.map((v, i) => ref.flowMatching(v, e[i]!, ts[Math.floor(i / 3)]!).target));
  const r = await gradCheck((_, x) => {
    const f = flowMatchingNoise(x.x0!, x.e!, x.t!.sigmoid());
    return o.add(f.xt, f.target.mul(0.5));
  }, { x0: { shape: [2, 3] }, e: { shape: [2, 3] }, t: { shape: [2] } });
  assert.ok(r.ok, r.summary);
});

test.run();
