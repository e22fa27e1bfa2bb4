import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { collectRun, createEngine, createLogger } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { correspondenceMapOf, loadWeights, MosaicModel, resolveConfig, teacherForcedMaps } from '../../plugins/mosaic/index.ts';
import { fixtures, tempDir, testWorkspace } from '../semalign/helpers.ts';

const checkpoint = join(process.cwd(), 'plugins/mosaic/weights/mosaic-small.safetensors');
const config = resolveConfig('small', {});
const model = new MosaicModel(config).withWeights(await loadWeights(checkpoint, config));
const samples = fixtures(5, [2, 3, 2, 1, 3]);

test('teacher-forced maps: one batched pass gives each sample the map of its own single pass, whatever the batch size', async () => {
  const batched = await teacherForcedMaps(model, samples, { t: 0.1, seed: 3, batchSize: 8 });
  const single = await teacherForcedMaps(model, samples, { t: 0.1, seed: 3, batchSize: 1 });
  for (let i = 0; i < samples.length; i++) {
    const alone = await correspondenceMapOf(model, samples[i]!, 0.1, 3);
    assert.equal(batched[i]!.shape, [samples[i]!.refs.length * 64, 256]);
    let worst = 0;
    for (let j = 0; j < alone.length; j++) worst = Math.max(worst, Math.abs(alone[j]! - batched[i]!.data[j]!), Math.abs(single[i]!.data[j]! - batched[i]!.data[j]!));
    assert.ok(worst < 1e-5, `sample ${i}: ${worst}`);
  }
});

test('mosaic/TeacherForcedAttention feeds teacher-forced PCK in the metrics, apart from PCK on generations', async () => {
  const engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => {}, 'error'), workspace: testWorkspace });
  const r = await collectRun(
    engine.run(
      {
        format: 'tessera-graph',
        version: 1,
        nodes: {
          data: { type: 'semalign/Generate', params: { train: 0, val: 0, test: 6, kMin: 2, kMax: 3, write: false, dip: 'none' } },
          model: { type: 'mosaic/Model', params: { preset: 'small', checkpoint } },
          tf: { type: 'mosaic/TeacherForcedAttention', inputs: { model: { node: 'model', output: 'model' }, samples: { node: 'data', output: 'samples' } } },
          metrics: { type: 'metrics/SemAlignMetrics', params: { plots: false }, inputs: { samples: { node: 'data', output: 'samples' }, teacherAttention: { node: 'tf', output: 'attention' } } },
        },
      },
      { outDir: tempDir('tf') },
    ),
  );
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const perK = r.results.metrics!.perK as { means: Record<string, number> }[];
  const keys = Object.keys(perK[0]!.means);
  assert.ok(keys.includes('tf:pck@1'), keys.join(', '));
  // The bundled model finds the right patch far more often than chance when it sees the target.
  const tf = perK.map((row) => row.means['tf:pck@1']!);
  assert.ok(tf.every((v) => v > 0.3), tf.join(', '));
});

test.run();
