// MOSAIC losses: traced graphs against the plain-TS references (values and finite differences),
// SCAL/MDL weights from real SemAlign samples and hand-made toys, schedules, heatmaps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from 'tessera';
import { compile, Graph, grad, Tensor, TraceError, type Sym } from 'tessera/kernels';
import {
  betaAt,
  correspondenceMap,
  correspondenceMapReference,
  fractionToSteps,
  LOSS_PRESETS,
  mdlLoss,
  mdlReference,
  mdlRowWeights,
  resolveLossPreset,
  scalLoss,
  scalReference,
  scalTargets,
} from '../../plugins/mosaic/losses/index.ts';
import { viridis } from 'tessera/image';
import { heatmapImage, overlayHeatmap } from '../../plugins/mosaic/plots/index.ts';
import { DEFAULT_CONFIG, generateSample, type SemAlignSample } from '../../plugins/semalign/sample.ts';

const rng = new Rng(1234);
const randn = (n: number, scale = 1) => Float64Array.from({ length: n }, () => rng.normal() * scale);

/** Random row-stochastic map [B, R, N] (softmax of scaled normals: distinct, strictly positive rows). */
function randomMap(B: number, R: number, N: number, temp = 2): Float64Array {
  const m = randn(B * R * N, temp);
  for (let r = 0; r < B * R; r++) {
    const row = m.subarray(r * N, (r + 1) * N);
    const mx = Math.max(...row);
    let z = 0;
    for (let n = 0; n < N; n++) z += row[n] = Math.exp(row[n]! - mx);
    for (let n = 0; n < N; n++) row[n]! /= z;
  }
  return m;
}

type DT = 'float32' | 'float64';
const tensor = (data: Float64Array | Float32Array, shape: number[], dtype: DT) =>
  new Tensor(dtype, shape, dtype === 'float64' ? Float64Array.from(data) : Float32Array.from(data));

/** Traces `build` with named inputs, compiles it on ORT, and runs it once. */
async function run(dtype: DT, inputs: Record<string, { data: Float64Array | Float32Array; shape: number[] }>, build: (x: Record<string, Sym>) => Record<string, Sym>) {
  const g = new Graph({ dtype });
  const syms = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, g.input(k, v.shape)]));
  const outs = build(syms);
  const kernel = await compile(g, outs);
  const feeds = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tensor(v.data, v.shape, dtype)]));
  const r = await kernel.run(feeds);
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float64Array.from(v.data as Float64Array)]));
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

/** Central finite differences of a scalar function of one array. */
function fd(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const xp = Float64Array.from(x);
    const xm = Float64Array.from(x);
    xp[i]! += h;
    xm[i]! -= h;
    out[i] = (f(xp) - f(xm)) / (2 * h);
  }
  return out;
}

function assertGradClose(got: Float64Array, want: Float64Array, tol = 1e-6, what = '') {
  assert.is(got.length, want.length);
  const scale = Math.max(...want.map(Math.abs), 1e-12);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / scale);
  assert.ok(worst < tol, `${what}: max error relative to the largest gradient ${worst}`);
}

/** A hand-made sample with only what the loss code reads (annotation id, k, correspondence grids). */
function toySample(id: string, refToTarget: number[][], refGrid: [number, number], targetGrid: [number, number]): SemAlignSample {
  return {
    annotation: { id, k: refToTarget.length, correspondence: { patchSize: 4, refPatchSize: 4, refGrid, targetGrid, owner: [], refPatch: [], refPoint: [], refToTarget } },
  } as unknown as SemAlignSample;
}

// Real SemAlign samples: DEFAULT_CONFIG has a 16×16 target grid (N = 256) and 8×8 references (L = 64).
const L = 64;
const N = 256;
const real = (k: number, indices: number[]) => indices.map((index) => generateSample({ ...DEFAULT_CONFIG, seed: 7 }, { split: 'train', index, k }));

// ---------------------------------------------------------------- correspondence map

const CM = { B: 2, H: 2, R: 6, N: 5, d: 4 };
const qs = [randn(CM.B * CM.H * CM.R * CM.d), randn(CM.B * CM.H * CM.R * CM.d)];
const ks = [randn(CM.B * CM.H * CM.N * CM.d), randn(CM.B * CM.H * CM.N * CM.d)];
const qShape = [CM.B, CM.H, CM.R, CM.d];
const kShape = [CM.B, CM.H, CM.N, CM.d];

test('correspondenceMap (two taps) equals the reference and its rows are distributions', async () => {
  for (const dtype of ['float64', 'float32'] as const) {
    const out = await run(dtype, { q0: { data: qs[0]!, shape: qShape }, k0: { data: ks[0]!, shape: kShape }, q1: { data: qs[1]!, shape: qShape }, k1: { data: ks[1]!, shape: kShape } }, (x) => ({
      map: correspondenceMap([
        { qRef: x.q0!, kTgt: x.k0! },
        { qRef: x.q1!, kTgt: x.k1! },
      ]),
    }));
    const want = correspondenceMapReference(qs, ks, CM);
    const tol = dtype === 'float64' ? 1e-12 : 1e-6;
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(out.map![i]! - want[i]!) < tol, `${dtype} entry ${i}: ${out.map![i]} vs ${want[i]}`);
    for (let r = 0; r < CM.B * CM.R; r++) assert.ok(Math.abs(out.map!.subarray(r * CM.N, (r + 1) * CM.N).reduce((a, b) => a + b, 0) - 1) < tol * 10);
  }
});

test('correspondenceMap rejects mismatched taps', () => {
  const g = new Graph();
  assert.throws(() => correspondenceMap([]), (e: Error) => e instanceof TraceError);
  assert.throws(() => correspondenceMap([{ qRef: g.input('q', [1, 2, 3, 4]), kTgt: g.input('k', [1, 3, 5, 4]) }]), /disagree/);
});

test('grad of SCAL and MDL through correspondenceMap w.r.t. q and k equals finite differences of the references', async () => {
  // Two references of 3 tokens each (R = 6), random positive pair weights and token pooling.
  const W = Float64Array.from({ length: CM.B * CM.R * CM.N }, (_, i) => (i % 7 === 0 ? 0.05 + (i % 3) * 0.1 : 0));
  const K = 2;
  const RW = new Float64Array(CM.B * K * CM.R);
  for (let b = 0; b < CM.B; b++) for (let k = 0; k < K; k++) for (let u = 0; u < 3; u++) RW[(b * K + k) * CM.R + k * 3 + u] = 1 / 3;
  const out = await run('float64', { q: { data: qs[0]!, shape: qShape }, k: { data: ks[0]!, shape: kShape }, w: { data: W, shape: [CM.B, CM.R, CM.N] }, rw: { data: RW, shape: [CM.B, K, CM.R] } }, (x) => {
    const map = correspondenceMap([{ qRef: x.q!, kTgt: x.k! }]);
    const scal = scalLoss(map, x.w!);
    const mdl = mdlLoss(map, x.rw!, { distance: 'jsd' });
    const [sq, sk] = grad(scal, [x.q!, x.k!]);
    const [mq, mk] = grad(mdl, [x.q!, x.k!]);
    return { scal, mdl, sq: sq!, sk: sk!, mq: mq!, mk: mk! };
  });
  const dims = { B: CM.B, R: CM.R, N: CM.N };
  const scalOf = (q: Float64Array, k: Float64Array) => scalReference(correspondenceMapReference(q, k, CM), W, dims);
  const mdlOf = (q: Float64Array, k: Float64Array) => mdlReference(correspondenceMapReference(q, k, CM), RW, { ...dims, K }, 'jsd');
  assert.ok(relErr(out.scal![0]!, scalOf(qs[0]!, ks[0]!)) < 1e-9);
  assert.ok(relErr(out.mdl![0]!, mdlOf(qs[0]!, ks[0]!)) < 1e-9);
  assertGradClose(out.sq!, fd((q) => scalOf(q, ks[0]!), qs[0]!), 1e-6, 'dSCAL/dq');
  assertGradClose(out.sk!, fd((k) => scalOf(qs[0]!, k), ks[0]!), 1e-6, 'dSCAL/dk');
  assertGradClose(out.mq!, fd((q) => mdlOf(q, ks[0]!), qs[0]!), 1e-6, 'dMDL/dq');
  assertGradClose(out.mk!, fd((k) => mdlOf(qs[0]!, k), ks[0]!), 1e-6, 'dMDL/dk');
});

// ---------------------------------------------------------------- SCAL

test('SCAL from the graph equals the reference on real samples (both modes, float64 1e-9 / float32 1e-5)', async () => {
  const samples = real(2, [0, 1, 2]);
  const B = samples.length;
  const map = randomMap(B, 2 * L, N);
  for (const mode of ['reference', 'pairs'] as const) {
    const w = scalTargets(samples, { mode, refPatches: L, targetPatches: N });
    assert.equal(w.shape, [B, 2 * L, N]);
    const w64 = Float64Array.from(w.data);
    for (const dtype of ['float64', 'float32'] as const) {
      const m = dtype === 'float32' ? Float64Array.from(Float32Array.from(map)) : map;
      const out = await run(dtype, { map: { data: m, shape: [B, 2 * L, N] }, w: { data: w64, shape: [B, 2 * L, N] } }, (x) => ({ loss: scalLoss(x.map!, x.w!) }));
      const want = scalReference(m, w64, { B, R: 2 * L, N });
      assert.ok(want > 0);
      assert.ok(relErr(out.loss![0]!, want) < (dtype === 'float64' ? 1e-9 : 1e-5), `${mode} ${dtype}: ${out.loss![0]} vs ${want}`);
    }
  }
});

test('SCAL gradient w.r.t. the map equals finite differences (float64)', async () => {
  const dims = { B: 2, R: 6, N: 5 };
  const map = randomMap(dims.B, dims.R, dims.N);
  const W = Float64Array.from({ length: map.length }, (_, i) => (i % 4 === 1 ? 0.1 + (i % 5) * 0.05 : 0));
  const out = await run('float64', { map: { data: map, shape: [2, 6, 5] }, w: { data: W, shape: [2, 6, 5] } }, (x) => {
    const loss = scalLoss(x.map!, x.w!);
    return { loss, d: grad(loss, [x.map!])[0]! };
  });
  assert.ok(relErr(out.loss![0]!, scalReference(map, W, dims)) < 1e-12);
  assertGradClose(out.d!, fd((m) => scalReference(m, W, dims), map), 1e-6, 'dSCAL/dmap');
});

test('scalTargets reproduces hand-computed weights on a 2-reference toy', () => {
  // L = 4 (2×2 reference grid), N = 6 (3×2 target grid). Ref 0: u0→v1, u2→v3 (P = 2); ref 1: u1→v5 (P = 1).
  const a = toySample('toy-a', [[1, -1, 3, -1], [-1, 5, -1, -1]], [2, 2], [3, 2]);
  const empty = toySample('toy-empty', [[-1, -1, -1, -1], [-1, -1, -1, -1]], [2, 2], [3, 2]);
  const at = (t: Tensor<'float32'>, b: number, r: number, n: number) => t.data[(b * 8 + r) * 6 + n]!;
  const ref = scalTargets([a], { mode: 'reference', refPatches: 4, targetPatches: 6 });
  assert.is(at(ref, 0, 0, 1), 0.25);
  assert.is(at(ref, 0, 2, 3), 0.25);
  assert.is(at(ref, 0, 4 + 1, 5), 0.5);
  assert.is(Array.from(ref.data).filter((v) => v !== 0).length, 3);
  const pairs = scalTargets([a], { mode: 'pairs', refPatches: 4, targetPatches: 6 });
  for (const [r, n] of [[0, 1], [2, 3], [5, 5]] as const) assert.ok(Math.abs(at(pairs, 0, r, n) - 1 / 3) < 1e-7);
  // A sample without pairs contributes zero and does not dilute the mean.
  const withEmpty = scalTargets([empty, a], { mode: 'reference', refPatches: 4, targetPatches: 6 });
  assert.is(Array.from(withEmpty.data.subarray(0, 48)).filter((v) => v !== 0).length, 0);
  assert.is(at(withEmpty, 1, 5, 5), 0.5);
  // Two samples with pairs: the batch mean halves every weight.
  const two = scalTargets([a, a], { mode: 'reference', refPatches: 4, targetPatches: 6 });
  assert.is(at(two, 0, 0, 1), 0.125);
  assert.is(at(two, 1, 5, 5), 0.25);
  // No pairs at all: all zeros (SCAL = 0).
  assert.ok(scalTargets([empty], { mode: 'pairs', refPatches: 4, targetPatches: 6 }).data.every((v) => v === 0));
  // With the toy's map, SCAL by the reference = −(¼log A[0,1] + ¼log A[2,3] + ½log A[5,5]).
  const map = randomMap(1, 8, 6);
  const want = -(0.25 * Math.log(map[1]! + 1e-9) + 0.25 * Math.log(map[2 * 6 + 3]! + 1e-9) + 0.5 * Math.log(map[5 * 6 + 5]! + 1e-9));
  assert.ok(relErr(scalReference(map, Float64Array.from(ref.data), { B: 1, R: 8, N: 6 }), want) < 1e-6);
});

test('scalTargets totals per mode on real samples: 1 over the batch, per reference 1/(K_vis·B) or P(k)/(P·B)', () => {
  for (const k of [1, 3]) {
    const samples = real(k, [3, 4, 5, 6]);
    const B = samples.length;
    for (const mode of ['reference', 'pairs'] as const) {
      const w = scalTargets(samples, { mode, refPatches: L, targetPatches: N });
      let total = 0;
      samples.forEach((s, b) => {
        const rt = s.annotation.correspondence.refToTarget;
        const P = rt.map((row) => row.filter((v) => v >= 0).length);
        const Ptot = P.reduce((x, y) => x + y, 0);
        assert.ok(Ptot > 0, `${s.annotation.id} has pairs`);
        const kVis = P.filter((p) => p > 0).length;
        for (let slot = 0; slot < k; slot++) {
          let sum = 0;
          for (let u = 0; u < L; u++) for (let n = 0; n < N; n++) sum += w.data[(b * k * L + slot * L + u) * N + n]!;
          const want = P[slot] === 0 ? 0 : mode === 'reference' ? 1 / (kVis * B) : P[slot]! / (Ptot * B);
          assert.ok(Math.abs(sum - want) < 1e-6, `${mode} slot ${slot}: ${sum} vs ${want}`);
          total += sum;
          // Weights sit exactly on the annotated pairs.
          for (let u = 0; u < L; u++) {
            const v = rt[slot]![u]!;
            if (v >= 0) assert.ok(w.data[(b * k * L + slot * L + u) * N + v]! > 0);
          }
        }
      });
      assert.ok(Math.abs(total - 1) < 1e-5, `${mode} k=${k}: total ${total}`);
    }
  }
});

test('scalTargets / mdlRowWeights reject correspondences outside the grid, mixed K and wrong grids, naming the sample', () => {
  const opts = { mode: 'pairs', refPatches: 4, targetPatches: 6 } as const;
  const bad = toySample('toy-bad', [[1, -1, 6, -1], [-1, -1, -1, -1]], [2, 2], [3, 2]);
  assert.throws(() => scalTargets([bad], opts), (e: Error) => e instanceof RangeError && /toy-bad/.test(e.message) && /target patch 6/.test(e.message) && /outside/.test(e.message));
  const neg = toySample('toy-neg', [[1, -2, 3, -1], [-1, -1, -1, -1]], [2, 2], [3, 2]);
  assert.throws(() => scalTargets([neg], opts), (e: Error) => e instanceof RangeError && /toy-neg/.test(e.message) && /-2/.test(e.message));
  assert.throws(() => mdlRowWeights([bad], { mode: 'points', refPatches: 4 }), /toy-bad.*outside/);
  const two = toySample('toy-k2', [[1, -1, 3, -1], [-1, -1, -1, -1]], [2, 2], [3, 2]);
  const three = toySample('toy-k3', [[1, -1, 3, -1], [-1, -1, -1, -1], [-1, -1, -1, -1]], [2, 2], [3, 2]);
  assert.throws(() => scalTargets([two, three], opts), (e: Error) => e instanceof RangeError && /toy-k3/.test(e.message) && /same K/.test(e.message));
  assert.throws(() => scalTargets([two], { ...opts, refPatches: 9 }), /toy-k2.*refPatches = 9/);
  assert.throws(() => scalTargets([two], { ...opts, targetPatches: 256 }), /toy-k2.*targetPatches = 256/);
  assert.throws(() => scalTargets(real(2, [0]), { ...opts, refPatches: L, targetPatches: 100 }), /train-.*targetPatches = 100/);
  assert.throws(() => scalTargets([], opts), /empty batch/);
});

// ---------------------------------------------------------------- MDL

test('mdlRowWeights: tokens = 1/L on all rows, points = 1/P(k) on annotated rows, tokens fallback without points', () => {
  const a = toySample('toy-a', [[1, -1, 3, -1], [-1, -1, -1, -1]], [2, 2], [3, 2]);
  const tok = mdlRowWeights([a], { mode: 'tokens', refPatches: 4 });
  assert.equal(tok.shape, [1, 2, 8]);
  assert.equal(Array.from(tok.data), [0.25, 0.25, 0.25, 0.25, 0, 0, 0, 0, 0, 0, 0, 0, 0.25, 0.25, 0.25, 0.25]);
  const pts = mdlRowWeights([a], { mode: 'points', refPatches: 4 });
  // Reference 0 has points u0, u2; reference 1 has none and falls back to all its tokens.
  assert.equal(Array.from(pts.data), [0.5, 0, 0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.25, 0.25, 0.25, 0.25]);
  for (const s of [real(3, [1, 2])]) {
    const w = mdlRowWeights(s, { mode: 'points', refPatches: L, targetPatches: N });
    for (let row = 0; row < 2 * 3; row++) assert.ok(Math.abs(w.data.subarray(row * 3 * L, (row + 1) * 3 * L).reduce((x, y) => x + y, 0) - 1) < 1e-6);
  }
});

test('MDL from the graph equals the reference on real samples (tokens/points × jsd/skl, float64 1e-9 / float32 1e-5)', async () => {
  const samples = real(3, [7, 8]);
  const B = samples.length;
  const K = 3;
  const map = randomMap(B, K * L, N, 3);
  for (const mode of ['tokens', 'points'] as const) {
    const rw = Float64Array.from(mdlRowWeights(samples, { mode, refPatches: L, targetPatches: N }).data);
    for (const distance of ['jsd', 'skl'] as const) {
      for (const dtype of ['float64', 'float32'] as const) {
        const m = dtype === 'float32' ? Float64Array.from(Float32Array.from(map)) : map;
        const out = await run(dtype, { map: { data: m, shape: [B, K * L, N] }, rw: { data: rw, shape: [B, K, K * L] } }, (x) => ({ loss: mdlLoss(x.map!, x.rw!, { distance }) }));
        const want = mdlReference(m, rw, { B, K, R: K * L, N }, distance);
        assert.ok(want < 0);
        assert.ok(relErr(out.loss![0]!, want) < (dtype === 'float64' ? 1e-9 : 1e-5), `${mode} ${distance} ${dtype}: ${out.loss![0]} vs ${want}`);
      }
    }
  }
});

test('MDL gradient w.r.t. the map equals finite differences (jsd and skl, float64)', async () => {
  const dims = { B: 2, K: 3, R: 6, N: 5 };
  const map = randomMap(dims.B, dims.R, dims.N);
  // Points-like pooling with uneven weights per reference (2 rows each).
  const rw = new Float64Array(dims.B * dims.K * dims.R);
  for (let b = 0; b < dims.B; b++) {
    for (let k = 0; k < dims.K; k++) {
      rw[(b * dims.K + k) * dims.R + 2 * k] = 0.3 + 0.1 * b;
      rw[(b * dims.K + k) * dims.R + 2 * k + 1] = 0.7 - 0.1 * b;
    }
  }
  for (const distance of ['jsd', 'skl'] as const) {
    const out = await run('float64', { map: { data: map, shape: [2, 6, 5] }, rw: { data: rw, shape: [2, 3, 6] } }, (x) => {
      const loss = mdlLoss(x.map!, x.rw!, { distance });
      return { loss, d: grad(loss, [x.map!])[0]! };
    });
    assert.ok(relErr(out.loss![0]!, mdlReference(map, rw, dims, distance)) < 1e-12);
    assertGradClose(out.d!, fd((m) => mdlReference(m, rw, dims, distance), map), 1e-6, `dMDL(${distance})/dmap`);
  }
});

test('mdlLoss needs K ≥ 2 and matching shapes (TraceError)', () => {
  const g = new Graph();
  const map = g.input('map', [1, 4, 6]);
  assert.throws(() => mdlLoss(map, g.input('rw', [1, 1, 4]), { distance: 'jsd' }), (e: Error) => e instanceof TraceError && /at least two references/.test(e.message));
  assert.throws(() => mdlLoss(map, g.input('rw2', [1, 2, 5]), { distance: 'jsd' }), (e: Error) => e instanceof TraceError);
  assert.throws(() => scalLoss(map, g.input('w', [1, 4, 5])), (e: Error) => e instanceof TraceError);
});

// ---------------------------------------------------------------- schedule and presets

test('betaAt: 0 before s0, linear ramp over s1, then β; paper constant', () => {
  const s = { beta: 1, warmupStart: 10_000, rampSteps: 1_000 };
  assert.is(betaAt(0, s), 0);
  assert.is(betaAt(9_999, s), 0);
  assert.is(betaAt(10_000, s), 0);
  assert.is(betaAt(10_500, s), 0.5);
  assert.is(betaAt(11_000, s), 1);
  assert.is(betaAt(50_000, s), 1);
  assert.is(betaAt(0, { beta: 0.6, warmupStart: 0, rampSteps: 0 }), 0.6);
  assert.is(betaAt(5, { beta: 0.6, warmupStart: 10, rampSteps: 0 }), 0);
  assert.is(betaAt(10, { beta: 0.6, warmupStart: 10, rampSteps: 0 }), 0.6);
  assert.throws(() => betaAt(1, { beta: 1, warmupStart: -1, rampSteps: 0 }), RangeError);
});

test('loss presets: paper and code values; code warm-up as fractions of the run', () => {
  assert.equal(LOSS_PRESETS.paper, { alpha: 0.4, beta: 0.6, warmupStartFraction: 0, rampFraction: 0, scalMode: 'reference', mdlMode: 'points', distance: 'skl' });
  const code = resolveLossPreset('code', 100_000);
  assert.equal(code, { alpha: 0.1, beta: 1, warmupStart: 10_000, rampSteps: 1_000, scalMode: 'pairs', mdlMode: 'tokens', distance: 'jsd' });
  assert.is(betaAt(10_500, code), 0.5);
  const short = resolveLossPreset('code', 2_000);
  assert.is(short.warmupStart, 200);
  assert.is(short.rampSteps, 20);
  assert.is(resolveLossPreset('code', 30).rampSteps, 1, 'a positive ramp fraction keeps at least one step');
  const paper = resolveLossPreset('paper', 500);
  assert.is(betaAt(0, paper), 0.6);
  assert.is(fractionToSteps(0.25, 10), 3);
  assert.throws(() => fractionToSteps(1.5, 10), RangeError);
});

// ---------------------------------------------------------------- heatmaps

const luminance = (c: ArrayLike<number>) => 0.2126 * c[0]! + 0.7152 * c[1]! + 0.0722 * c[2]!;

test('heatmapImage: size, nearest-neighbour upscale, monotone viridis, max/sum normalisation', () => {
  const values = Float32Array.from({ length: 12 }, (_, i) => i);
  const img = heatmapImage(values, 4, 3, { scale: 5 });
  assert.is(img.width, 20);
  assert.is(img.height, 15);
  assert.is(img.channels, 3);
  assert.is(img.data.length, 20 * 15 * 3);
  const px = (x: number, y: number) => Array.from(img.data.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3));
  assert.equal(px(0, 0), [68, 1, 84], 'smallest = viridis(0)');
  assert.equal(px(19, 14), [253, 231, 37], 'largest = viridis(1)');
  assert.equal(px(5, 0), px(9, 4), 'one block per patch');
  let prev = -1;
  for (let i = 0; i < 12; i++) {
    const l = luminance(px((i % 4) * 5 + 2, Math.floor(i / 4) * 5 + 2));
    assert.ok(l > prev, `luminance rises with the value (patch ${i})`);
    prev = l;
  }
  for (let t = 0; t < 100; t++) assert.ok(luminance(viridis((t + 1) / 100)) >= luminance(viridis(t / 100)));
  // 'sum': a flat distribution is dark, a one-hot one reaches the top color.
  const flat = heatmapImage(new Float64Array(16).fill(1 / 16), 4, 4, { normalize: 'sum' });
  assert.ok(luminance(flat.data) < luminance(viridis(0.1)));
  const hot = heatmapImage(Float64Array.from({ length: 16 }, (_, i) => (i === 5 ? 1 : 0)), 4, 4, { normalize: 'sum' });
  assert.equal(Array.from(hot.data.subarray(15, 18)), [253, 231, 37]);
  assert.equal(heatmapImage(new Float64Array(4), 2, 2).data.subarray(0, 3), new Uint8Array([68, 1, 84]), 'all-zero map stays at the bottom color');
  assert.throws(() => heatmapImage(values, 5, 3), RangeError);
  assert.throws(() => heatmapImage(values, 4, 3, { scale: 0 }), RangeError);
});

test('overlayHeatmap blends over a target image (α 0 = image, α 1 = heatmap), keeps RGBA alpha, expands gray', () => {
  const sample = generateSample(DEFAULT_CONFIG, { split: 'train', index: 0, k: 2 });
  const target = sample.target;
  const values = randomMap(1, 1, 256);
  const same = overlayHeatmap(target, values, 16, 16, 0);
  assert.is(same.width, target.width);
  assert.is(same.height, target.height);
  for (let i = 0; i < target.width * target.height; i++) for (let c = 0; c < 3; c++) assert.is(same.data[i * same.channels + c], target.data[i * target.channels + c]);
  const full = overlayHeatmap(target, values, 16, 16, 1);
  const heat = heatmapImage(values, 16, 16, { scale: target.width / 16 });
  for (let i = 0; i < target.width * target.height; i++) for (let c = 0; c < 3; c++) assert.is(full.data[i * full.channels + c], heat.data[i * 3 + c]);
  const rgba = { width: 2, height: 2, channels: 4 as const, data: new Uint8Array([0, 0, 0, 7, 0, 0, 0, 8, 0, 0, 0, 9, 0, 0, 0, 10]) };
  const o = overlayHeatmap(rgba, new Float64Array([0, 1, 0, 1]), 2, 2, 0.5);
  assert.is(o.channels, 4);
  assert.equal([o.data[3], o.data[7], o.data[11], o.data[15]], [7, 8, 9, 10]);
  assert.equal(Array.from(o.data.subarray(4, 7)), [127, 116, 19], 'half of viridis(1) over black');
  const gray = overlayHeatmap({ width: 1, height: 1, channels: 1, data: new Uint8Array([200]) }, new Float64Array([0]), 1, 1, 0.5);
  assert.is(gray.channels, 3);
  assert.equal(Array.from(gray.data), [134, 101, 142], 'gray 200 half-blended with viridis(0) = (68, 1, 84)');
  assert.throws(() => overlayHeatmap(rgba, new Float64Array(4), 2, 2, 2), RangeError);
});

test.run();
