import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { Graph, Predictor, Tensor } from 'tessera/kernels';
import { buildBatch } from '../../plugins/mosaic/model/mosaicBatch.ts';
import { resolveConfig, type MosaicConfig } from '../../plugins/mosaic/model/MosaicConfig.ts';
import { MosaicModel } from '../../plugins/mosaic/model/MosaicModel.ts';
import { mosaicNetwork, tokenLayout } from '../../plugins/mosaic/model/mosaicNetwork.ts';
import { networkInputs } from '../../plugins/mosaic/model/mosaicPrograms.ts';
import { timeFeatures } from '../../plugins/mosaic/model/positionFeatures.ts';
import { loadWeights } from '../../plugins/mosaic/model/loadWeights.ts';
import { runTraining, type TrainSettings } from '../../plugins/train/runTraining.ts';
import { listCheckpoints } from '../../plugins/train/checkpoints.ts';
import type { SemAlignSample } from '../../plugins/semalign/sample.ts';
import { fixtures, tempDir } from '../semalign/helpers.ts';
import { perturbedWeights, rejects } from './helpers.ts';

const withLosses = (c: MosaicConfig) =>
  new MosaicModel(c).withTaps([0, 1]).withTerm({ kind: 'scal', alpha: 0.4, mode: 'reference' }).withTerm({ kind: 'mdl', beta: 0.6, warmupStart: 0, rampSteps: 0, mode: 'points', distance: 'jsd' });

const SETTINGS: TrainSettings = { steps: 8, batchSize: 2, lr: 3e-3, schedule: 'constant', warmupSteps: 0, weightDecay: 0, beta1: 0.9, beta2: 0.999, clipGradNorm: 1, ema: 0, checkpointEvery: 0, keep: 2, resume: false, seed: 3 };

/** Every block's reference tokens for one sample, with reference `change` replaced by noise when given. */
async function refHidden(c: MosaicConfig, sample: SemAlignSample, params: Record<string, Tensor>, change?: number): Promise<Float32Array[]> {
  const b = buildBatch([sample], c);
  if (change !== undefined) {
    const { l } = tokenLayout(c, b.k);
    const d = b.refs.data as Float32Array;
    const P = b.refs.shape[2]!;
    for (let i = change * l * P; i < (change + 1) * l * P; i++) d[i] = Math.sin(i * 12.9898) * 0.9;
  }
  const fn = (g: Graph) => {
    const ins = networkInputs(g, c, b.k, 1);
    const xt = g.input('xt', [1, b.x0.shape[1]!, b.x0.shape[2]!]);
    const out = mosaicNetwork(g, c, b.k, { xt, ...ins }, { collectHidden: true });
    return Object.fromEntries(out.hidden.map((h, i) => [`refs${i}`, h.refs]));
  };
  const p = await Predictor.create(fn, params);
  const out = await p.run({ xt: b.x0, refs: b.refs, boxes: b.boxes, boxmap: b.boxmap, tfeat: timeFeatures([0.5], c.width) });
  await p.dispose();
  return Array.from({ length: c.depth }, (_, i) => out[`refs${i}`]!.data as Float32Array);
}

const maxDiff = (a: Float32Array, b: Float32Array, from: number, to: number) => {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

test('reference↔reference mask: changing one reference never reaches another reference directly', async () => {
  const samples = fixtures(3, [3], {}, 'train');
  for (const mode of ['self', 'target'] as const) {
    const c = resolveConfig('tiny', { depth: 3, refAttention: mode });
    const params = await perturbedWeights(c, samples, 0.06, 12345);
    const base = await refHidden(c, samples[0]!, params);
    const changed = await refHidden(c, samples[0]!, params, 2);
    const { l } = tokenLayout(c, 3);
    const D = c.width;
    for (let layer = 0; layer < c.depth; layer++) {
      const others = maxDiff(base[layer]!, changed[layer]!, 0, 2 * l * D);
      const own = maxDiff(base[layer]!, changed[layer]!, 2 * l * D, 3 * l * D);
      assert.ok(own > 1e-3, `${mode}: the changed reference's own tokens must change (layer ${layer}: ${own})`);
      if (mode === 'self' || layer === 0) {
        // 'self': every layer. 'target' (MOSAIC's mask): in the first block no path exists at all.
        assert.is(others, 0, `${mode}: references 0 and 1 moved in block ${layer} by ${others}`);
      } else {
        // From block 2 on, MOSAIC's mask lets information go reference 2 → target → reference 0:
        // the mask holds, but the target carries it. This is why 'self' exists.
        assert.ok(others > 0, `${mode}: expected the target path to carry reference 2 into block ${layer}`);
      }
    }
  }
});

test('correspondence taps: block-0 reference queries and target keys are exactly the rows of the right tokens', async () => {
  const samples = fixtures(2, [3], {}, 'train');
  const c = resolveConfig('tiny');
  const params = await perturbedWeights(c, samples, 0.06, 12345);
  const b = buildBatch([samples[0]!], c);
  const { l, n } = tokenLayout(c, 3);
  const p = await Predictor.create((g: Graph) => {
    const ins = networkInputs(g, c, 3, 1);
    const xt = g.input('xt', [1, n, b.x0.shape[2]!]);
    const t = mosaicNetwork(g, c, 3, { xt, ...ins }, { tapBlocks: [0] }).taps[0]!;
    return { q: t.qRef, k: t.kTgt };
  }, params);
  const run = (xt: Tensor, refs: Tensor) => p.run({ xt, refs, boxes: b.boxes, boxmap: b.boxmap, tfeat: timeFeatures([0.3], c.width) });
  const base = await run(b.x0, b.refs);
  const [H, d] = [c.heads, c.width / c.heads];
  /** Rows (token index within the tap) whose values moved, over all heads. */
  const moved = (a: Tensor, z: Tensor, rows: number) => {
    const out = new Set<number>();
    for (let h = 0; h < H; h++) for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) if (a.data[(h * rows + r) * d + j] !== z.data[(h * rows + r) * d + j]) out.add(r);
    return [...out];
  };
  const P = b.x0.shape[2]!;
  const xt = b.x0.clone();
  for (let i = 0; i < P; i++) (xt.data as Float32Array)[37 * P + i]! += 0.5; // target patch 37
  const tgt = await run(xt, b.refs);
  assert.equal(moved(base.k!, tgt.k!, n), [37], 'target keys: only patch 37 may change in block 0');
  const refs = b.refs.clone();
  for (let i = 0; i < P; i++) (refs.data as Float32Array)[(2 * l + 5) * P + i]! += 0.5; // reference 2, patch 5
  const ref = await run(b.x0, refs);
  assert.equal(moved(base.q!, ref.q!, 3 * l), [2 * l + 5], 'reference queries: only row 2·L + 5 may change in block 0');
  await p.dispose();
});

test('resume refuses changed settings, data or blocks; resume: false deletes earlier checkpoints', async () => {
  const samples = fixtures(6, [1, 2], {}, 'train');
  const c = resolveConfig('tiny');
  const dir = tempDir('mosaic-resume-rules');
  await runTraining(withLosses(c).trainingProgram(samples, { steps: 4 }), { ...SETTINGS, steps: 4, checkpointEvery: 2, keep: 5 }, dir);
  const again = (model: MosaicModel, data: SemAlignSample[], over: Partial<TrainSettings>) => runTraining(model.trainingProgram(data, { steps: 4 }), { ...SETTINGS, steps: 4, checkpointEvery: 2, keep: 5, resume: true, ...over }, dir);
  await rejects(again(withLosses(c), samples, { lr: 1e-2 }), /lr: 0.003 in the checkpoint, 0.01 now/);
  await rejects(again(withLosses(c), samples, { steps: 8 }), /steps: 4 in the checkpoint, 8 now/);
  await rejects(again(withLosses(c), samples.slice(1), {}), /training samples .* differ/);
  await rejects(again(withLosses(c).withTaps([1]), samples, {}), /correspondence blocks differ/);
  const done = await again(withLosses(c), samples, {});
  assert.is(done.resumedFrom, 4, 'a finished run resumes at its end');
  const fresh = await runTraining(withLosses(c).trainingProgram(samples, { steps: 2 }), { ...SETTINGS, steps: 2, checkpointEvery: 1, keep: 5, resume: false }, dir);
  assert.equal((await listCheckpoints(dir)).map((x) => x.step), [1, 2], 'old checkpoints (2, 4) must be gone');
  assert.ok(fresh.checkpoint.endsWith('step-00000002.safetensors'));
});

test('tiny trains with SCAL and MDL: every term is finite and the loss falls', async () => {
  const samples = fixtures(16, [2, 3], {}, 'train');
  const c = resolveConfig('tiny');
  const r = await runTraining(withLosses(c).trainingProgram(samples, { steps: 40 }), { ...SETTINGS, steps: 40 }, tempDir('mosaic-train'));
  assert.is(r.history.length, 40);
  for (const row of r.history) for (const k of ['loss', 'diffusion', 'scal', 'mdl']) assert.ok(Number.isFinite(row[k]), `step ${row.step}: ${k} = ${row[k]}`);
  const mean = (rows: typeof r.history, k: string) => rows.reduce((a, x) => a + x[k]!, 0) / rows.length;
  for (const k of ['loss', 'scal']) {
    const first = mean(r.history.slice(0, 8), k);
    const last = mean(r.history.slice(-8), k);
    assert.ok(last < first * 0.97, `${k} did not fall: ${first.toFixed(4)} → ${last.toFixed(4)}`);
  }
  assert.ok(mean(r.history.slice(-8), 'mdl') < mean(r.history.slice(0, 8), 'mdl'), 'MDL (negative divergence) did not decrease');
});

test('training is deterministic: same data, settings and seed → identical weights; another seed differs', async () => {
  const samples = fixtures(8, [1, 2], {}, 'train');
  const c = resolveConfig('tiny');
  const run = (seed: number) => runTraining(withLosses(c).trainingProgram(samples, { steps: 6 }), { ...SETTINGS, steps: 6, seed }, tempDir('mosaic-det'));
  const [a, b, other] = [await run(1), await run(1), await run(2)];
  for (const name of Object.keys(a.params)) assert.equal(Array.from(a.params[name]!.data as Float32Array), Array.from(b.params[name]!.data as Float32Array), name);
  assert.ok(Object.keys(a.params).some((n) => a.params[n]!.data.some((v, i) => v !== other.params[n]!.data[i])), 'another seed gave the same weights');
  assert.equal(a.history, b.history);
});

test('bad input is refused before training: K above maxRefs, wrong reference size, correspondences outside the grid', async () => {
  const c = resolveConfig('tiny', { maxRefs: 2 });
  const four = fixtures(2, [4], {}, 'train');
  assert.throws(() => withLosses(c).trainingProgram(four, { steps: 1 }), /K = 4 references, but this model accepts 1…2/);
  const small = fixtures(2, [2], { refSize: 16, refPatchSize: 2 }, 'train');
  assert.throws(() => withLosses(c).trainingProgram(small, { steps: 1 }), /reference 0 is 16×16, the model expects 32×32/);
  const ok = fixtures(2, [2], {}, 'train');
  const broken = ok.map((s, i) => (i === 1 ? { ...s, annotation: { ...s.annotation, correspondence: { ...s.annotation.correspondence, refToTarget: s.annotation.correspondence.refToTarget.map((r, slot) => (slot === 0 ? r.map((v, u) => (u === 5 ? 999 : v)) : r)) } } } : s));
  assert.throws(() => withLosses(c).trainingProgram(broken, { steps: 1 }), (e: Error) => e.message.includes(ok[1]!.annotation.id) && e.message.includes('999'));
  assert.throws(() => withLosses(c).trainingProgram([], { steps: 1 }), /no samples/);
});

test('a checkpoint from another config is refused with both configs named; a matching one loads', async () => {
  const samples = fixtures(4, [1, 2], {}, 'train');
  const c = resolveConfig('tiny');
  const dir = tempDir('mosaic-ckpt');
  const r = await runTraining(withLosses(c).trainingProgram(samples, { steps: 2 }), { ...SETTINGS, steps: 2 }, dir);
  const loaded = await loadWeights(r.checkpoint, c);
  assert.is(loaded.step, 2);
  assert.equal(Array.from(loaded.params["embed.w"]!.data as Float32Array), Array.from(r.params["embed.w"]!.data as Float32Array));
  await rejects(loadWeights(r.checkpoint, resolveConfig('tiny', { width: 64 })), /width: 32 in the checkpoint, 64 in the model/);
  await rejects(loadWeights(r.checkpoint, resolveConfig('small')), /trained with preset 'tiny', the model node asks for 'small'/);
  await rejects(loadWeights(join(dir, 'nope.safetensors'), c), /no such file/);
});

test.run();
