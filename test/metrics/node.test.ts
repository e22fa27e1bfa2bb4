import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectRun, createEngine, createLogger } from 'tessera';
import core from '../../plugins/core/index.ts';
import semalign from '../../plugins/semalign/index.ts';
import metrics from '../../plugins/metrics/index.ts';
import { encodePng } from 'tessera/image';
import { assertSchema } from '../../plugins/semalign/validate.ts';
import { tempDir, testWorkspace } from '../semalign/helpers.ts';
import { DEFAULT_CONFIG, generateSample } from '../../plugins/semalign/sample.ts';

async function run(nodes: Record<string, unknown>) {
  const engine = await createEngine({ plugins: [core, semalign, metrics], logger: createLogger(() => {}, 'error'), workspace: testWorkspace });
  const outDir = tempDir('metrics-run');
  return { ...(await collectRun(engine.run({ format: 'tessera-graph', version: 1, name: 't', nodes }, { outDir, useCache: false }))), outDir };
}

const gen = { type: 'semalign/Generate', params: { train: 0, val: 6, test: 0, kMin: 2, kMax: 4, write: false } };

test('generatedDir: PNGs named <id>.png are scored; metrics.json matches its schema', async () => {
  const dir = tempDir('generated');
  // The generated images are the DIP losers: exactly one subject per sample is disrupted.
  const losers: number[] = [];
  for (let i = 0; i < 6; i++) {
    const s = generateSample({ ...DEFAULT_CONFIG, kMin: 2, kMax: 4, seed: 0 }, { split: 'val', index: i });
    writeFileSync(join(dir, `${s.annotation.id}.png`), encodePng(s.loser!));
    losers.push(s.annotation.dip!.slot);
  }
  const r = await run({ g: gen, m: { type: 'metrics/SemAlignMetrics', params: { generatedDir: dir }, inputs: { samples: { node: 'g', output: 'samples' } } } });
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const json = JSON.parse(readFileSync(join(r.outDir, 'metrics/metrics.json'), 'utf8'));
  assertSchema('semalign-metrics.schema.json', json, 'metrics.json');
  assert.is(json.source, dir);
  // Baselines and chance levels are scored on the same samples, with CIs of the differences.
  assert.equal(Object.keys(json.baselines), ['upright-paste', 'oracle-paste', 'mean-fill']);
  assert.equal(json.baselines['mean-fill'].map((r: { id: string }) => r.id), json.perSample.map((r: { id: string }) => r.id));
  const arms = json.comparison.perK[0].rows.map((r: { arm: string }) => r.arm);
  assert.equal(arms, ['scored', 'upright-paste', 'oracle-paste', 'mean-fill', 'chance-retrieval', 'chance-box-uniform', 'chance-box-centre']);
  assert.match(readFileSync(join(r.outDir, 'metrics/comparison.md'), 'utf8'), /\| mean-colour fill \(model-free\) \| /);
  json.perSample.forEach((row: { subjects: { slot: number; psnr: number }[] }, i: number) => {
    for (const sub of row.subjects) assert.is(sub.psnr === 100, sub.slot !== losers[i], 'only the disrupted subject differs');
  });
  rmSync(join(dir, 'val-0000003.png'));
  const missing = await run({ g: gen, m: { type: 'metrics/SemAlignMetrics', params: { generatedDir: dir }, inputs: { samples: { node: 'g', output: 'samples' } } } });
  assert.is(missing.status, 'failed');
  assert.match(JSON.stringify(missing.errors), /generated image .*val-0000003\.png for sample val-0000003 cannot be read \(ENOENT\)/);
});

test('input images: counterfactual noise through the graph, PCK from oracle attention', async () => {
  const r = await run({
    g: gen,
    noise: { type: 'metrics/Counterfactual', params: { mode: 'noise' }, inputs: { samples: { node: 'g', output: 'samples' } } },
    att: { type: 'metrics/OracleAttention', params: { shuffle: 1, seed: 3 }, inputs: { samples: { node: 'g', output: 'samples' } } },
    m: { type: 'metrics/SemAlignMetrics', params: { pckRadii: [0, 3] }, inputs: { samples: { node: 'g', output: 'samples' }, generated: { node: 'noise', output: 'images' }, attention: { node: 'att', output: 'attention' } } },
  });
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const perK = r.results.m!.perK as { means: Record<string, number> }[];
  for (const row of perK) {
    assert.ok(row.means.imagePsnr! < 12);
    assert.ok(row.means['pck@0']! < 0.2, 'fully shuffled attention rarely hits');
  }
  const csv = readFileSync(join(r.outDir, 'metrics/per_sample.csv'), 'utf8').split('\n')[0]!;
  assert.ok(csv.endsWith('pck@0,pck@3'));
});

test.run();
