// Sampling from an imported flow model (sampleImported, behind model/Sample): its steps equal the
// export replayed alone on the host, stepped with the convention FlowMatchingProgram trains
// (x_t = (1 − t)·x0 + t·ε, v = ε − x0, so x ← x − Δt·v from t = 1 to 0, time fed t · timeScale),
// with the condition input spelled out (each sample's references stacked on channels, or zeros);
// the images depend only on (seed, sample id), not on the batching; trained LoRA adapters change
// them and untrained ones do not; bad inputs fail with messages that say what to fix.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from 'tessera';
import { Graph, KernelSession, Tensor, importOnnx, type OnnxModel, type Sym } from '../../kernels/index.ts';
import { ImportedModel, type ModelMapping } from '../../plugins/model/index.ts';
import { boxDownsample } from '../../plugins/model/images.ts';
import { generationItems } from '../../plugins/model/generationItems.ts';
import { sampleImported, type ImportedSampleOptions } from '../../plugins/model/sampleImported.ts';
import { imagesToTensor, tensorToImages } from '../../plugins/latent/index.ts';
import type { SemAlignSample } from '../../plugins/semalign/index.ts';
import { DIT, UNET, load, samples } from './tapStep.ts';

const PLANE = 3 * 16 * 16;

/** The export alone as a host velocity v(x, t) on `rows` images: time fed t · timeScale, condition as given (or zeros of its shape). */
async function hostVelocity(onnx: OnnxModel, mapping: ModelMapping, rows: number, condition?: Float32Array) {
  const g = new Graph();
  const inputs: Record<string, Sym> = { x: g.input('x', [rows, 3, 16, 16]), t: g.input('t', [rows]) };
  const feeds: Record<string, Tensor> = Object.create(null);
  if (mapping.condition) {
    inputs[mapping.condition] = g.input('c', [rows, 3, 16, 16]);
    feeds.c = new Tensor('float32', [rows, 3, 16, 16], condition ?? new Float32Array(rows * PLANE));
  }
  const y = importOnnx(g, onnx, inputs, { params: 'frozen' })[mapping.output]!;
  for (const [name, info] of g.params) if (info.init.kind === 'values') feeds[name] = info.init.tensor;
  const session = await KernelSession.create(g.toModel({ y }));
  return {
    run: async (x: Float32Array, t: number) => Float32Array.from((await session.run({ ...feeds, x: new Tensor('float32', [rows, 3, 16, 16], x), t: new Tensor('float32', [rows], new Float32Array(rows).fill(t * mapping.timeScale)) })).y!.toArray()),
    release: () => session.release(),
  };
}

/** ε of sample `id` as the sampler draws it: N(0, 1) from Rng(seed) forked by 'model-noise:<id>'. */
function noise(seed: number, ids: readonly string[]): Float32Array {
  const out = new Float32Array(ids.length * PLANE);
  ids.forEach((id, r) => {
    const rng = new Rng(seed).fork(`model-noise:${id}`);
    for (let i = 0; i < PLANE; i++) out[r * PLANE + i] = rng.normal();
  });
  return out;
}

/** Host Euler from t = 1 over `steps` uniform steps (or Heun), all rows at once. */
async function hostSample(v: Awaited<ReturnType<typeof hostVelocity>>, x: Float32Array, steps: number, solver: 'euler' | 'heun'): Promise<Float32Array> {
  for (let i = 0; i < steps; i++) {
    const [t, next] = [1 - i / steps, 1 - (i + 1) / steps];
    const v1 = await v.run(x, t);
    if (solver === 'heun' && i < steps - 1) {
      const v2 = await v.run(x.map((xi, j) => xi - (t - next) * v1[j]!), next);
      x = x.map((xi, j) => xi - (t - next) * 0.5 * (v1[j]! + v2[j]!));
    } else x = x.map((xi, j) => xi - (t - next) * v1[j]!);
  }
  return x;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
const flat = (vs: readonly Float32Array[]) => Float32Array.from(vs.flatMap((v) => Array.from(v)));
const opts = (o: Partial<ImportedSampleOptions>): ImportedSampleOptions => ({ steps: 1, solver: 'euler', seed: 0, batchSize: 8, ...o });
const unetData = (n: number, k = 1, seed = 3) => samples(k, { patchSize: 8, refPatchSize: 4 }, n, seed);

test('UNet (condition from references): one Euler step is ε − v(ε, 1) of the export replayed alone with each sample’s reference as the condition; two steps, Heun, and batches of 2 (padded) agree too', async () => {
  const onnx = await load('tiny_unet_op17');
  const model = new ImportedModel(onnx, 'test', UNET);
  const data = unetData(3);
  const ids = data.map((s) => s.annotation.id);
  const cond = imagesToTensor(data.map((s) => boxDownsample(s.refs[0]!, 16, 16, 'c'))).data as Float32Array;
  const v = await hostVelocity(onnx, UNET, 3, cond);
  try {
    const eps = noise(7, ids);
    const items = generationItems(model, data, 0).items;
    // One step from t = 1: x0 = ε − 1·v(ε, t = 1).
    const one = await sampleImported(model, items, opts({ seed: 7 }));
    const vEps = await v.run(eps, 1);
    const host1 = eps.map((e, i) => e - vEps[i]!);
    assert.ok(maxDiff(flat(one.values), host1) < 1e-5, `one step: ${maxDiff(flat(one.values), host1)}`);
    assert.ok(maxDiff(host1, eps) > 0.1, 'the step moved x');
    // The images are the values in [−1, 1] as bytes.
    assert.equal(one.images.map((im) => Array.from(im.data)), tensorToImages({ shape: [3, 3, 16, 16], data: host1 }).map((im) => Array.from(im.data)));
    for (const [steps, solver, batchSize] of [[2, 'euler', 2], [3, 'heun', 2], [2, 'euler', 8]] as const) {
      const got = await sampleImported(model, items, opts({ seed: 7, steps, solver, batchSize }));
      const host = await hostSample(v, eps, steps, solver);
      assert.ok(maxDiff(flat(got.values), host) < 1e-4, `${steps} ${solver} steps at batch ${batchSize}: ${maxDiff(flat(got.values), host)}`);
    }
    // The condition matters: another sample's reference as the condition changes the step.
    const swapped = await sampleImported(model, [{ id: ids[0]!, refs: data[1]!.refs }], opts({ seed: 7 }));
    assert.ok(maxDiff(swapped.values[0]!, one.values[0]!) > 1e-3, 'the condition input is fed');
  } finally {
    await v.release();
  }
});

test('DiT (no condition) with timeScale 1000: the time input gets t · 1000 at every step; without data, count images from ids image-0…', async () => {
  const onnx = await load('tiny_dit_op17');
  const mapping = { ...DIT, timeScale: 1000 };
  const model = new ImportedModel(onnx, 'test', mapping);
  const plan = generationItems(model, undefined, 2);
  assert.equal(plan.items.map((i) => i.id), ['image-0', 'image-1']);
  const v = await hostVelocity(onnx, mapping, 2);
  try {
    const got = await sampleImported(model, plan.items, opts({ steps: 2, seed: 1 }));
    const host = await hostSample(v, noise(1, ['image-0', 'image-1']), 2, 'euler');
    assert.ok(maxDiff(flat(got.values), host) < 1e-4, `${maxDiff(flat(got.values), host)}`);
    const unscaled = await sampleImported(new ImportedModel(onnx, 'test', DIT), plan.items, opts({ steps: 2, seed: 1 }));
    assert.ok(maxDiff(flat(unscaled.values), host) > 1e-3, 'timeScale changes what the export sees');
  } finally {
    await v.release();
  }
});

test('determinism: same seed → same images, whatever the batch size or the other samples; another seed → other images', async () => {
  const model = new ImportedModel(await load('tiny_unet_op17'), 'test', UNET);
  const items = generationItems(model, unetData(4), 0).items;
  const a = await sampleImported(model, items, opts({ steps: 3, seed: 5, batchSize: 4 }));
  const b = await sampleImported(model, items, opts({ steps: 3, seed: 5, batchSize: 4 }));
  assert.equal(flat(a.values), flat(b.values), 'bit-identical on a rerun');
  const c = await sampleImported(model, items, opts({ steps: 3, seed: 5, batchSize: 3 }));
  assert.ok(maxDiff(flat(a.values), flat(c.values)) < 1e-5, 'batch 3 (one padded batch) gives the same values');
  assert.ok(a.images.every((im, i) => maxDiff(im.data, c.images[i]!.data) <= 1), 'and the same images (±1 rounding)');
  const alone = await sampleImported(model, [items[2]!], opts({ steps: 3, seed: 5 }));
  assert.ok(maxDiff(alone.values[0]!, a.values[2]!) < 1e-5, 'a sample alone = the same sample among others');
  const other = await sampleImported(model, items, opts({ steps: 3, seed: 6, batchSize: 4 }));
  assert.ok(maxDiff(flat(a.values), flat(other.values)) > 0.1, 'another seed, other images');
});

test('LoRA: untrained adapters give the export’s images exactly; trained ones (B ≠ 0) change them; a LoRA run’s weights without the adapters are an error naming one', async () => {
  const onnx = await load('tiny_dit_op17');
  const base = new ImportedModel(onnx, 'test', DIT);
  const lora = base.withLora({ rank: 2, alpha: 2, targets: ['blocks.*.qkv'] });
  const items = generationItems(base, undefined, 2).items;
  const o = opts({ steps: 2, seed: 3 });
  const plain = await sampleImported(base, items, o);
  assert.equal(flat((await sampleImported(lora, items, o)).values), flat(plain.values), 'untrained LoRA = the export');
  // A training run's weights: the adapters (B moved off zero) and nothing else (frozen weights come from the export).
  const g = new Graph();
  lora.trace(g, g.input('x', [1, 3, 16, 16]), g.input('t', [1]));
  const adapters: Record<string, Tensor> = Object.create(null);
  let i = 0;
  for (const [name, info] of g.params) if (name.startsWith('lora.')) adapters[name] = new Tensor('float32', info.shape, Float32Array.from({ length: info.shape.reduce((a, b) => a * b, 1) }, () => 0.3 * Math.sin(++i)));
  assert.ok(Object.keys(adapters).length === 4, Object.keys(adapters).join(', '));
  const tuned = await sampleImported(lora.withWeights({ params: adapters, source: 'test', step: 1 }), items, o);
  assert.ok(maxDiff(flat(tuned.values), flat(plain.values)) > 1e-3, 'trained adapters change the images');
  const zeroB = Object.fromEntries(Object.entries(adapters).map(([k, t]) => [k, k.endsWith('.B') ? new Tensor('float32', t.shape) : t]));
  assert.ok(maxDiff(flat((await sampleImported(lora.withWeights({ params: zeroB, source: 'test', step: 1 }), items, o)).values), flat(plain.values)) < 1e-6, 'B = 0: the export again');
  let err = '';
  const { ['lora.blocks.0.qkv.A']: _dropped, ...missing } = adapters;
  await sampleImported(lora.withWeights({ params: missing, source: 'test', step: 1 }), items, o).catch((e: Error) => (err = e.message));
  assert.match(err, /parameter 'lora\.blocks\.0\.qkv\.A' has no value/);
});

test('errors: wrong reference count, images without references, no data for a conditioned model, count beyond the data, bad options', async () => {
  const unet = new ImportedModel(await load('tiny_unet_op17'), 'test', UNET);
  const two = unetData(2, 2);
  const fail = async (f: () => unknown) => {
    try {
      await f();
    } catch (e) {
      return (e as Error).message;
    }
    return 'no error';
  };
  assert.match(await fail(() => sampleImported(unet, generationItems(unet, two, 0).items, opts({}))), new RegExp(`sample ${two[0]!.annotation.id} has 2 references; the condition input takes 1 \\(3·K = 3 channels\\)`));
  assert.match(await fail(() => generationItems(unet, two.map((s) => s.target), 0)), /a condition fed from references needs SemAlign samples .* as sampling data|sampling item 0 is no SemAlign sample/);
  assert.match(await fail(() => generationItems(unet, undefined, 3)), /the condition input 'c' takes each sample's 1 reference image; wire SemAlign samples into data/);
  assert.match(await fail(() => generationItems(unet, two, 5)), /count is 5 but data has 2 items/);
  const dit = new ImportedModel(await load('tiny_dit_op17'), 'test', DIT);
  assert.match(await fail(() => generationItems(dit, undefined, 0)), /without data, set count/);
  assert.match(await fail(() => generationItems(dit, [{ width: 2 }], 0)), /sampling item 0 is neither an image/);
  assert.match(await fail(() => generationItems(dit, 'x', 0)), /data must be a list/);
  const items = generationItems(dit, undefined, 1).items;
  assert.match(await fail(() => sampleImported(dit, items, opts({ steps: 0 }))), /steps must be a positive integer/);
  assert.match(await fail(() => sampleImported(dit, items, opts({ solver: 'rk4' as 'euler' }))), /solver must be 'euler' or 'heun'/);
  assert.match(await fail(() => sampleImported(dit, [], opts({}))), /nothing to generate/);
  // A reference of a size that does not divide the condition's is named.
  const odd = { ...two[0]!, annotation: { ...two[0]!.annotation, k: 1 }, refs: [{ width: 15, height: 15, channels: 3 as const, data: new Uint8Array(15 * 15 * 3) }] } as SemAlignSample;
  assert.match(await fail(() => sampleImported(unet, generationItems(unet, [odd], 0).items, opts({}))), /sample .* reference 0 \(condition\) is 15×15; the model takes 16×16/);
});

test.run();
