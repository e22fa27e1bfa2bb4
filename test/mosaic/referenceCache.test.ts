// Cached reference K/V (refAttention 'self'): the reference branch computed once and the layout +
// target branch fed its keys and values gives the whole network's velocity and correspondence map
// within float32 rounding, on real ORT sessions; eulerSample's cached and uncached paths agree;
// the default mask refuses the cache.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from 'tessera';
import { Graph, Predictor, Tensor, Trainer } from 'tessera/kernels';
import { resolveConfig, type MosaicConfig } from '../../plugins/mosaic/model/MosaicConfig.ts';
import { MosaicModel } from '../../plugins/mosaic/model/MosaicModel.ts';
import { cachedVelocityProgram, referenceKVNames, referenceProgram, trainingStepProgram, velocityProgram } from '../../plugins/mosaic/model/mosaicPrograms.ts';
import { eulerSample } from '../../plugins/mosaic/sampling/index.ts';
import { DEFAULT_CONFIG, generateSample } from '../../plugins/semalign/sample.ts';
import { rejects } from './helpers.ts';

/** A trainer's initialisation plus noise, so the zero-initialised output and modulation layers carry signal. */
async function weights(c: MosaicConfig, seed: number): Promise<Record<string, Tensor>> {
  const trainer = await Trainer.create(trainingStepProgram(c, 1, 1, { scal: false, mdl: null, tapBlocks: [] }), { seed: 1 });
  const rng = new Rng(seed);
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(trainer.getParams())) out[name] = new Tensor('float32', t.shape, Float32Array.from(t.data as Float32Array, (v) => v + 0.08 * rng.normal()));
  await trainer.dispose();
  return out;
}

/** Random values for every input the program declares (shapes from a trace). */
function feedsFor(fn: (g: Graph) => unknown, seed: number): Record<string, Tensor> {
  const g = new Graph();
  fn(g);
  const rng = new Rng(seed);
  const out: Record<string, Tensor> = {};
  for (const s of g.inputs.values()) out[s.name] = new Tensor('float32', s.shape, Float32Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, () => rng.normal()));
  return out;
}

function close(got: Tensor, want: Tensor, what: string): void {
  assert.equal(got.shape, want.shape, `${what}: shape`);
  const a = got.data as Float32Array;
  const b = want.data as Float32Array;
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  assert.ok(scale > 1e-3, `${what}: the reference output is not trivially zero`);
  assert.ok(worst <= 1e-5 + 1e-4 * scale, `${what}: max |cached − whole| = ${worst} (scale ${scale})`);
}

for (const preset of ['tiny', 'latent-tiny'] as const) {
  test(`${preset}, 'self': reference branch once + main branch = the whole network (velocity and correspondence map)`, async () => {
    const c = resolveConfig(preset, { refAttention: 'self', depth: 3 });
    const params = await weights(c, 3);
    const k = 3;
    const batch = 2;
    const blocks = [0, 2];
    const whole = await Predictor.create(velocityProgram(c, k, batch, blocks), params);
    const refs = await Predictor.create(referenceProgram(c, k, batch, blocks), params);
    const main = await Predictor.create(cachedVelocityProgram(c, k, batch, blocks), params);
    try {
      const feeds = feedsFor(velocityProgram(c, k, batch, blocks), 11);
      const want = await whole.run(feeds);
      const { refs: r, refpos, xt, ...cond } = feeds;
      const kv = await refs.run(refpos ? { refs: r!, refpos } : { refs: r! });
      // Tapped blocks also carry their queries; untapped ones only K and V.
      assert.ok(kv[referenceKVNames(0).q] && !kv[referenceKVNames(1).q] && kv[referenceKVNames(2).q]);
      assert.not.ok('refs' in Object.fromEntries(main.inputNames.map((n) => [n, 1])), 'the main branch takes no reference patches');
      const got = await main.run({ xt: xt!, ...cond, ...kv });
      close(got.velocity!, want.velocity!, 'velocity');
      close(got.map!, want.map!, 'map');
    } finally {
      await Promise.all([whole.dispose(), refs.dispose(), main.dispose()]);
    }
  });
}

test("eulerSample: cached references (the default for 'self') give the uncached images and maps; Heun too", async () => {
  const c = resolveConfig('tiny', { refAttention: 'self' });
  const model = new MosaicModel(c).withWeights({ params: await weights(c, 5), source: 'test', step: 0 });
  const samples = [2, 1, 2].map((k, i) => generateSample({ ...DEFAULT_CONFIG, seed: 0 }, { split: 'val', index: i, k }));
  for (const solver of ['euler', 'heun'] as const) {
    const opts = { steps: 4, seed: 2, solver, mapBlocks: [0, 1] };
    const cached = await eulerSample(model, samples, opts);
    const whole = await eulerSample(model, samples, { ...opts, cacheReferences: false });
    cached.images.forEach((img, i) => {
      let worst = 0;
      for (let j = 0; j < img.data.length; j++) worst = Math.max(worst, Math.abs(img.data[j]! - whole.images[i]!.data[j]!));
      // Bytes: a float32 rounding difference may move a value across a quantisation step, never further.
      assert.ok(worst <= 1, `${solver} sample ${i}: bytes differ by ${worst}`);
    });
    cached.maps!.forEach((m, i) => close(new Tensor('float32', m.shape, m.data), new Tensor('float32', whole.maps![i]!.shape, whole.maps![i]!.data), `${solver} map ${i}`));
  }
});

test("the default mask ('target') cannot cache references; a non-boolean cacheReferences is refused", async () => {
  const c = resolveConfig('tiny');
  assert.throws(() => referenceProgram(c, 2, 1)(new Graph()), /reference K\/V can be cached only with refAttention 'self' \(this model: 'target'\)/);
  assert.throws(() => cachedVelocityProgram(c, 2, 1)(new Graph()), /only with refAttention 'self'/);
  const model = new MosaicModel(c).withWeights({ params: await weights(c, 1), source: 'test', step: 0 });
  const samples = [generateSample({ ...DEFAULT_CONFIG, seed: 0 }, { split: 'val', index: 0, k: 1 })];
  await rejects(eulerSample(model, samples, { steps: 1, seed: 0, cacheReferences: 'yes' as unknown as boolean }), /cacheReferences must be a boolean, got string/);
  // With the default mask the option is moot: the whole network runs either way.
  const a = await eulerSample(model, samples, { steps: 2, seed: 0 });
  const b = await eulerSample(model, samples, { steps: 2, seed: 0, cacheReferences: false });
  assert.ok(Buffer.from(a.images[0]!.data).equals(Buffer.from(b.images[0]!.data)));
});

test.run();
