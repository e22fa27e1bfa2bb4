// focusdpo: the Flow-DPO / Diffusion-DPO objective and the focus-map terms against float64 TS
// references written from the formulas (values, and gradients by finite differences); the
// complexity map against a direct per-pixel reference; a real tiny-preset DPO training.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, type ImageValue } from 'tessera';
import { compile, Graph, grad, Tensor, type Sym } from 'tessera/kernels';
import { PRESETS } from 'tessera/mosaic';
import { runTraining, type TrainSettings } from 'tessera/train';
import { complexityMap, writePairsDataset, PAIRS_MANIFEST, correspondenceFocus, DEFAULT_FOCUS, DpoModel, focusDpoLoss, focusWeights, requirePairs, UNIFORM_FOCUS, type FocusSpec } from '../../plugins/focusdpo/index.ts';
import { fixtures, weightedModel } from './helpers.ts';

const rng = new Rng(99);
const randn = (n: number, s = 1) => Float64Array.from({ length: n }, () => rng.normal() * s);
const logSigmoid = (x: number) => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));

/** Traces `build` in float64 with the given inputs, runs it once on ORT. */
async function run64(inputs: Record<string, { data: Float64Array; shape: number[] }>, build: (x: Record<string, Sym>) => Record<string, Sym>) {
  const g = new Graph({ dtype: 'float64' });
  const syms = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, g.input(k, v.shape)]));
  const kernel = await compile(g, build(syms));
  const r = await kernel.run(Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, new Tensor('float64', v.shape, v.data)])));
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float64Array.from(v.data as Float64Array)]));
}

/** The objective from the formula: mean_b −log σ(−β/2 · Σ_p W_p [(pw − rw) − (pl − rl)]). */
function dpoReference(pw: Float64Array, rw: Float64Array, pl: Float64Array, rl: Float64Array, w: Float64Array, beta: number, B: number, N: number) {
  let loss = 0;
  let acc = 0;
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let p = 0; p < N; p++) {
      const i = b * N + p;
      s += w[i]! * (pw[i]! - rw[i]! - (pl[i]! - rl[i]!));
    }
    const inside = (-beta / 2) * s;
    loss -= logSigmoid(inside) / B;
    acc += (inside > 0 ? 1 : 0) / B;
  }
  return { loss, acc };
}

function fd(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const a = Float64Array.from(x);
    const b = Float64Array.from(x);
    a[i]! += h;
    b[i]! -= h;
    out[i] = (f(a) - f(b)) / (2 * h);
  }
  return out;
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) => {
  assert.is(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i]! - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)))) assert.unreachable(`${what}[${i}]: ${a[i]} vs reference ${b[i]}`);
};

for (const [label, uniform] of [['Diffusion-DPO (uniform W)', true], ['focus-weighted Flow-DPO', false]] as const) {
  test(`${label}: loss, accuracy and gradients match the float64 formula within 1e-5`, async () => {
    const B = 3;
    const N = 5;
    const beta = 7;
    const e = () => Float64Array.from(randn(B * N, 0.3), (v) => Math.abs(v));
    const [pw, rw, pl, rl] = [e(), e(), e(), e()];
    let w = uniform ? new Float64Array(B * N).fill(1 / N) : Float64Array.from(randn(B * N), Math.abs);
    if (!uniform) for (let b = 0; b < B; b++) {
      const z = w.subarray(b * N, (b + 1) * N).reduce((a, v) => a + v, 0);
      for (let p = 0; p < N; p++) w[b * N + p]! /= z;
    }
    w = Float64Array.from(w);
    const shape = [B, N];
    const r = await run64({ pw: { data: pw, shape }, rw: { data: rw, shape }, pl: { data: pl, shape }, rl: { data: rl, shape }, w: { data: w, shape }, beta: { data: Float64Array.of(beta), shape: [] } }, (x) => {
      const out = focusDpoLoss({ policyW: x.pw!, refW: x.rw!, policyL: x.pl!, refL: x.rl! }, x.w!, x.beta!);
      const [gw, gl] = grad(out.loss, [x.pw!, x.pl!]);
      return { loss: out.loss, acc: out.acc, margin: out.margin, gw: gw!, gl: gl! };
    });
    const ref = dpoReference(pw, rw, pl, rl, w, beta, B, N);
    close(r.loss!, [ref.loss], 1e-5, 'loss');
    close(r.acc!, [ref.acc], 1e-12, 'implicit accuracy');
    close(r.gw!, fd((x) => dpoReference(x, rw, pl, rl, w, beta, B, N).loss, pw), 1e-5, 'd loss / d e_θ,w');
    close(r.gl!, fd((x) => dpoReference(pw, rw, x, rl, w, beta, B, N).loss, pl), 1e-5, 'd loss / d e_θ,l');
    // Policy = reference: inside = 0, the loss is log 2 whatever β.
    const same = await run64({ e: { data: pw, shape }, w: { data: w, shape }, beta: { data: Float64Array.of(1e6), shape: [] } }, (x) => {
      const out = focusDpoLoss({ policyW: x.e!, refW: x.e!, policyL: x.e!, refL: x.e! }, x.w!, x.beta!);
      return { loss: out.loss, acc: out.acc };
    });
    close(same.loss!, [Math.log(2)], 1e-12, 'loss at policy = reference');
    assert.is(same.acc![0], 0, 'a tie is not counted as correct');
  });
}

/** M_corr from the formula: top-k per row, confidence-weighted, summed over rows, max-normalised. */
function corrReference(a: Float64Array, B: number, R: number, N: number, k: number, rho: number): Float64Array {
  const out = new Float64Array(B * N);
  for (let b = 0; b < B; b++) {
    const m = out.subarray(b * N, (b + 1) * N);
    for (let r = 0; r < R; r++) {
      const row = a.subarray((b * R + r) * N, (b * R + r + 1) * N);
      const kth = [...row].sort((x, y) => y - x)[k - 1]!;
      const conf = Math.max(0, (Math.max(...row) - 1 / N) / (1 - 1 / N));
      for (let p = 0; p < N; p++) if (row[p]! >= kth) m[p]! += row[p]! * (1 - rho + rho * conf);
    }
    const mx = Math.max(...m);
    for (let p = 0; p < N; p++) m[p]! /= mx;
  }
  return out;
}

test('focus map: M_corr and W_t match the formula; every term switches as documented', async () => {
  const B = 2;
  const R = 3;
  const N = 6;
  const a = randn(B * R * N, 2);
  for (let r = 0; r < B * R; r++) {
    const row = a.subarray(r * N, (r + 1) * N);
    const z = row.reduce((s, v, i) => s + (row[i] = Math.exp(v)), 0);
    for (let p = 0; p < N; p++) row[p]! /= z;
  }
  const prior = Float64Array.from({ length: B * N }, (_, i) => (i % 3 === 0 ? 0 : (i % 5) / 4));
  const cx = Float64Array.from(randn(B * N), (v) => Math.min(1, Math.abs(v)));
  const gate = Float64Array.of(1, 0);
  const lambda = 0.7;
  const inputs = { a: { data: a, shape: [B, R, N] }, prior: { data: prior, shape: [B, N] }, cx: { data: cx, shape: [B, N] }, gate: { data: gate, shape: [B] }, lambda: { data: Float64Array.of(lambda), shape: [] }, rho: { data: Float64Array.of(0.6), shape: [] } };
  const r = await run64(inputs, (x) => {
    const corr = correspondenceFocus(x.a!, 2, x.rho!);
    const w = (p: boolean, c: boolean, k: boolean) => focusWeights({ prior: p ? x.prior! : null, corr: c ? corr : null, complexity: k ? x.cx! : null, gate: x.gate!, lambda: x.lambda! }, B, N);
    return { corr, full: w(true, true, true), none: w(false, false, false), priorOnly: w(true, false, false), noCx: w(true, true, false) };
  });
  const corr = corrReference(a, B, R, N, 2, 0.6);
  close(r.corr!, corr, 1e-9, 'M_corr');
  const norm = (raw: Float64Array) => {
    const out = new Float64Array(raw.length);
    for (let b = 0; b < B; b++) {
      const z = raw.subarray(b * N, (b + 1) * N).reduce((s, v) => s + v, 0);
      for (let p = 0; p < N; p++) out[b * N + p] = raw[b * N + p]! / z;
    }
    return out;
  };
  const full = norm(Float64Array.from(prior, (pv, i) => pv * (corr[i]! + gate[Math.floor(i / N)]! * lambda * cx[i]!)));
  close(r.full!, full, 1e-9, 'W_t (all terms)');
  close(r.none!, new Float64Array(B * N).fill(1 / N), 1e-12, 'W with every term off (uniform)');
  close(r.priorOnly!, norm(prior), 1e-12, 'W with the prior only');
  // Sample 1 is before τ (gate 0): complexity changes nothing there.
  close(r.noCx!.subarray(N), r.full!.subarray(N), 1e-12, 'W before τ');
  assert.ok(Math.abs(r.noCx![1]! - r.full![1]!) > 1e-6, 'after τ the complexity term changes W');
  // ρ = 0: rows are not weighted by confidence.
  const r0 = await run64({ a: inputs.a, rho: { data: Float64Array.of(0), shape: [] } }, (x) => ({ corr: correspondenceFocus(x.a!, 2, x.rho!) }));
  close(r0.corr!, corrReference(a, B, R, N, 2, 0), 1e-9, 'M_corr without the confidence penalty');
});

/** Direct per-pixel reference: two-pass Gaussian-weighted variance over the in-image window. */
function complexityReference(img: ImageValue, sigma: number, patch: number, eps: number): Float64Array {
  const { width: W, height: H, data } = img;
  const y = (i: number) => (0.299 * data[i * 3]! + 0.587 * data[i * 3 + 1]! + 0.114 * data[i * 3 + 2]!) / 255;
  const r = Math.ceil(3 * sigma);
  const g = W / patch;
  const m = new Float64Array(g * g);
  for (let py = 0; py < H; py++) {
    for (let px = 0; px < W; px++) {
      let z = 0;
      let mu = 0;
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) {
        const qy = py + dy;
        const qx = px + dx;
        if (qy < 0 || qy >= H || qx < 0 || qx >= W) continue;
        const wt = Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
        z += wt;
        mu += wt * y(qy * W + qx);
      }
      mu /= z;
      let v = 0;
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) {
        const qy = py + dy;
        const qx = px + dx;
        if (qy < 0 || qy >= H || qx < 0 || qx >= W) continue;
        v += (Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma)) * (y(qy * W + qx) - mu) ** 2) / z;
      }
      m[Math.floor(py / patch) * g + Math.floor(px / patch)]! += (0.5 * Math.log(2 * Math.PI * Math.E * (v + eps))) / (patch * patch);
    }
  }
  const lo = Math.min(...m);
  const hi = Math.max(...m);
  return Float64Array.from(m, (v) => (v - lo) / (hi - lo));
}

test('complexity map: Gaussian-weighted local variance → ½·log(2πe·σ²) per patch matches a direct float64 reference within 1e-5', () => {
  const s = fixtures(1, [2])[0]!;
  for (const sigma of [1, 2.5]) close(complexityMap(s.target, { patch: 4, sigma }), complexityReference(s.target, sigma, 4, 1e-4), 1e-5, `σ = ${sigma}`);
  const flat: ImageValue = { width: 8, height: 8, channels: 3, data: new Uint8Array(192).fill(90) };
  close(complexityMap(flat, { patch: 4, sigma: 1 }), new Float64Array(4), 0, 'a flat image');
  assert.throws(() => complexityMap(s.target, { patch: 5, sigma: 1 }), /patch 5 must divide/);
});

const SETTINGS: TrainSettings = { steps: 30, batchSize: 4, lr: 1e-3, schedule: 'constant', warmupSteps: 0, weightDecay: 0, beta1: 0.9, beta2: 0.999, clipGradNorm: 1, ema: 0, checkpointEvery: 0, keep: 1, resume: false, seed: 0 };
const dir = () => mkdtempSync(join(tmpdir(), 'focusdpo-'));

test('DPOLoss on the tiny preset: real training raises the implicit accuracy on the training pairs above 0.5', async () => {
  const pairs = fixtures(8, [1, 2]);
  const base = await weightedModel(PRESETS.tiny!, pairs);
  for (const focus of [UNIFORM_FOCUS, DEFAULT_FOCUS] as FocusSpec[]) {
    const m = new DpoModel(base, { objective: 'dpo', subset: 'all', beta: 2000, focus, mapBlocks: base.mapBlocks });
    const r = await runTraining(m.trainingProgram(pairs), SETTINGS, dir());
    const first = r.history[0]!;
    assert.ok(Math.abs(first.loss - Math.log(2)) < 1e-4, `step 1 (policy = reference): loss ${first.loss} ≈ log 2`);
    const last = r.history.slice(-10);
    const acc = last.reduce((s, h) => s + h.acc!, 0) / last.length;
    const loss = last.reduce((s, h) => s + h.loss, 0) / last.length;
    assert.ok(acc > 0.5, `${m.describe()}: implicit accuracy of the last 10 steps ${acc}`);
    assert.ok(loss < Math.log(2), `mean loss of the last 10 steps ${loss} < log 2`);
    const trained = r.params;
    assert.ok(Object.keys(trained).some((k) => k.startsWith('ref.')), 'the step graph holds the frozen reference');
    const out = m.trainingProgram(pairs).withWeights(trained, { step: 30, source: 'test' }) as typeof base;
    assert.equal(Object.keys(out.weights!.params).sort(), Object.keys(base.weights!.params).sort(), 'the handle passed on carries the policy only');
    for (const [k, t] of Object.entries(base.weights!.params)) assert.equal([...trained[`ref.${k}`]!.data], [...t.data], `reference ${k} stays frozen`);
  }
});

test('DPOLoss: β → 0 scales the first gradient linearly (loss log 2); LoRA-only trains only the adapters; SFT needs no loser', async () => {
  const pairs = fixtures(4, [2]);
  const base = await weightedModel(PRESETS.tiny!, pairs);
  const one = { ...SETTINGS, steps: 1, clipGradNorm: 0 };
  const g = async (beta: number) => (await runTraining(new DpoModel(base, { objective: 'dpo', subset: 'all', beta, focus: UNIFORM_FOCUS, mapBlocks: [] }).trainingProgram(pairs), one, dir())).history[0]!;
  const [a, b] = [await g(1e-3), await g(2e-3)];
  assert.ok(Math.abs(a.loss - Math.log(2)) < 1e-6 && Math.abs(b.loss - Math.log(2)) < 1e-6, 'loss is log 2');
  assert.ok(Math.abs(b.gradNorm / a.gradNorm - 2) < 1e-2, `gradient ∝ β: ${a.gradNorm} → ${b.gradNorm}`);

  const lora = await runTraining(new DpoModel(base, { objective: 'dpo', subset: 'lora', beta: 2000, focus: DEFAULT_FOCUS, mapBlocks: base.mapBlocks }).trainingProgram(pairs), { ...SETTINGS, steps: 3 }, dir());
  const changed = Object.keys(base.weights!.params).filter((k) => [...lora.params[k]!.data].some((v, i) => v !== base.weights!.params[k]!.data[i]));
  assert.ok(changed.length > 0 && changed.every((k) => /\.lora_[ab]$/.test(k)), `changed: ${changed.join(', ')}`);

  const sft = await runTraining(new DpoModel(base, { objective: 'sft', subset: 'all', beta: 0, focus: UNIFORM_FOCUS, mapBlocks: [] }).trainingProgram(pairs), { ...SETTINGS, steps: 3 }, dir());
  assert.ok(!Object.keys(sft.params).some((k) => k.startsWith('ref.')), 'SFT with uniform W traces no reference');
  assert.ok(Math.abs(sft.history[0]!.loss - sft.history[0]!.flowW!) < 1e-5, 'uniform-W SFT is the flow-matching MSE on winners');
});

test('pairs: samples without a DIP pair are refused with a clear message', () => {
  const none = fixtures(2, [1], { dip: 'none' });
  assert.throws(() => requirePairs(none, 'x'), /none of the 2 samples carries a preference pair/);
  assert.throws(() => requirePairs([...fixtures(1, [1]), ...none], 'x'), /2 of 3 samples carry no preference pair/);
  assert.throws(() => requirePairs('nope', 'x'), /must be preference pairs/);
});

test('pairs dataset: atomic files + pairs.json; a re-run resumes (skips listed pairs, rewrites a missing one); a foreign pairs.json is refused', async () => {
  const pairs = requirePairs(fixtures(3, [1, 2]), 'x');
  const d = dir();
  assert.equal(await writePairsDataset(d, pairs), { written: 3, skipped: 0 });
  assert.equal(await writePairsDataset(d, pairs), { written: 0, skipped: 3 });
  rmSync(join(d, `${pairs[1]!.annotation.id}_loser.png`));
  assert.equal(await writePairsDataset(d, pairs), { written: 1, skipped: 2 });
  writeFileSync(join(d, PAIRS_MANIFEST), '{"format":"other"}');
  try {
    await writePairsDataset(d, pairs);
    assert.unreachable('a foreign manifest must be refused');
  } catch (e) {
    assert.match((e as Error).message, /not a focusdpo pairs manifest/);
  }
});

test.run();
