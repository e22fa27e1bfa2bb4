// With `layoutPose` off (every existing preset, every existing checkpoint) buildBatch and the
// network must be bit-identical to the code before pose-in-layout existed. The golden hashes in
// fixtures/layout-v1-golden.json were captured from that code (commit d02191b) on the bundled
// checkpoint; `UPDATE_GOLDEN=1` rewrites them (only ever do that on purpose).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Predictor, Tensor } from 'tessera/kernels';
import { buildBatch, groupByK } from '../../plugins/mosaic/model/mosaicBatch.ts';
import { resolveConfig } from '../../plugins/mosaic/model/MosaicConfig.ts';
import { loadWeights } from '../../plugins/mosaic/model/loadWeights.ts';
import { MosaicModel } from '../../plugins/mosaic/model/MosaicModel.ts';
import { velocityProgram } from '../../plugins/mosaic/model/mosaicPrograms.ts';
import { timeFeatures } from '../../plugins/mosaic/model/positionFeatures.ts';
import { eulerSample } from '../../plugins/mosaic/sampling/eulerSample.ts';
import { DEFAULT_CONFIG, generateSample } from '../../plugins/semalign/sample.ts';

const GOLDEN = new URL('./fixtures/layout-v1-golden.json', import.meta.url);
const CHECKPOINT = 'plugins/mosaic/weights/mosaic-small.safetensors';

const sha = (t: { data: ArrayBufferView }) => createHash('sha256').update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)).digest('hex');

/** Held-out samples at K = 1, 2, 4 (two each), the generator's defaults. */
function goldenSamples() {
  return [1, 2, 4, 1, 2, 4].map((k, i) => generateSample({ ...DEFAULT_CONFIG, seed: 11 }, { split: 'test', index: i, k }));
}

async function capture(): Promise<Record<string, string>> {
  const c = resolveConfig('small');
  const weights = await loadWeights(CHECKPOINT, c);
  const params = weights.params as Record<string, Tensor>;
  const samples = goldenSamples();
  const out: Record<string, string> = {};
  for (const [k, idx] of groupByK(samples)) {
    const b = buildBatch(idx.map((i) => samples[i]!), c);
    for (const name of ['x0', 'refs', 'boxes', 'boxmap'] as const) out[`K${k}.${name}`] = `${b[name].shape.join('x')}:${sha(b[name])}`;
    const xt = new Tensor('float32', b.x0.shape, Float32Array.from(b.x0.data as Float32Array, (v, i) => 0.4 * v + 0.6 * Math.sin(i * 12.9898)));
    const p = await Predictor.create(velocityProgram(c, k, idx.length, [0, 1, 2, 3]), params);
    const r = await p.run({ xt, refs: b.refs, boxes: b.boxes, boxmap: b.boxmap, tfeat: timeFeatures(idx.map(() => 0.7), c.width) });
    await p.dispose();
    out[`K${k}.velocity`] = sha(r.velocity!);
    out[`K${k}.map`] = sha(r.map!);
  }
  const model = new MosaicModel(c).withWeights(weights);
  const gen = await eulerSample(model, samples.slice(0, 3), { steps: 3, seed: 5 });
  gen.images.forEach((img, i) => (out[`euler.${i}`] = sha(img)));
  return out;
}

test('layoutPose off: buildBatch tensors, velocity, correspondence map and Euler samples of the bundled checkpoint are bit-identical to the pre-pose code', async () => {
  const now = await capture();
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(GOLDEN, JSON.stringify(now, null, 1) + '\n');
    return;
  }
  const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<string, string>;
  assert.equal(Object.keys(now).sort(), Object.keys(golden).sort());
  for (const key of Object.keys(golden)) assert.is(now[key], golden[key], `${key} changed`);
});

test.run();
