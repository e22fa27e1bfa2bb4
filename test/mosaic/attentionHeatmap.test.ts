import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { collectRun, createEngine, createLogger } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { tempDir, testWorkspace } from '../semalign/helpers.ts';

const engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => {}, 'error'), workspace: testWorkspace });
const graph = (model: Record<string, unknown>) => ({
  format: 'tessera-graph',
  version: 1,
  nodes: {
    data: { type: 'semalign/Generate', params: { train: 0, val: 2, test: 0, kMin: 2, kMax: 2, write: false, dip: 'none' } },
    model: { type: 'mosaic/Model', params: model },
    heat: { type: 'mosaic/AttentionHeatmap', params: { previewIndex: 1 }, inputs: { model: { node: 'model', output: 'model' }, samples: { node: 'data', output: 'samples' } } },
    save: { type: 'core/SaveImage', params: { filename: 'heat.png' }, inputs: { image: { node: 'heat', output: 'heatmaps' } } },
  },
});

test('mosaic/AttentionHeatmap: a panel for the chosen sample from a model with weights', async () => {
  const r = await collectRun(engine.run(graph({ preset: 'small', checkpoint: join(process.cwd(), 'plugins/mosaic/weights/mosaic-small.safetensors') }), { outDir: tempDir('heat') }));
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const out = r.events.find((e) => e.type === 'node:output' && e.nodeId === 'heat');
  const img = (out as unknown as { outputs: { heatmaps: { width: number; height: number } } }).outputs.heatmaps;
  assert.ok(img.width > 64 && img.height > 32, `${img.width}×${img.height}`);
});

test('mosaic/AttentionHeatmap: a model without weights is refused with what to do', async () => {
  const r = await collectRun(engine.run(graph({ preset: 'tiny' }), { outDir: tempDir('heat-none') }));
  assert.is(r.status, 'failed');
  assert.match(r.errors[0]!.message, /has no weights \(load a checkpoint/);
});

test.run();
