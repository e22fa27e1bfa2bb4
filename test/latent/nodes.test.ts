import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectRun, createEngine, createLogger } from 'tessera';
import { saveParamsFile } from 'tessera/kernels';
import { CONFIG_KEY } from '../../plugins/latent/AutoencoderTrainingProgram.ts';
import { builtinPlugins } from '../../plugins/index.ts';
import { tempDir, testWorkspace } from '../semalign/helpers.ts';
import { initialWeights, tiny } from './helpers.ts';

const engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => {}, 'error'), workspace: testWorkspace });
const dir = tempDir('latent-nodes');
const ckpt = join(dir, 'ae-tiny.safetensors');
await saveParamsFile(ckpt, await initialWeights(), { [CONFIG_KEY]: JSON.stringify(tiny) });

const graph = (ae: Record<string, unknown>) => ({
  format: 'tessera-graph',
  version: 1,
  nodes: {
    data: { type: 'semalign/Generate', params: { train: 0, val: 0, test: 3, kMin: 2, kMax: 2, write: false, dip: 'none' } },
    ae: { type: 'latent/Autoencoder', params: ae },
    enc: { type: 'latent/Encode', inputs: { model: { node: 'ae', output: 'model' }, images: { node: 'data', output: 'samples' } } },
    dec: { type: 'latent/Decode', inputs: { model: { node: 'ae', output: 'model' }, latents: { node: 'enc', output: 'refLatents' } } },
  },
});
const outputs = (r: Awaited<ReturnType<typeof collectRun>>, node: string) => (r.events.find((e) => e.type === 'node:output' && e.nodeId === node) as unknown as { outputs: Record<string, unknown> }).outputs;

test('latent/Autoencoder → Encode (samples) → Decode: target and reference latents, decoded references', async () => {
  const r = await collectRun(engine.run(graph({ preset: 'tiny', checkpoint: ckpt }), { outDir: tempDir('latent-run'), targets: ['dec'] }));
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const enc = outputs(r, 'enc') as { latents: { shape: number[] }; refLatents: { shape: number[] } };
  assert.equal(enc.latents.shape, [3, 4, 16, 16]);
  assert.equal(enc.refLatents.shape, [6, 4, 8, 8]);
  const images = outputs(r, 'dec').images as { width: number }[];
  assert.equal(images.map((i) => i.width), [32, 32, 32, 32, 32, 32]);
});

test('latent/Autoencoder: a checkpoint rewritten at the same path is not served from the cache', async () => {
  const file = join(tempDir('latent-rewrite'), 'ae.safetensors');
  await saveParamsFile(file, await initialWeights(1), { [CONFIG_KEY]: JSON.stringify(tiny) });
  const latents = async () => {
    const r = await collectRun(engine.run(graph({ preset: 'tiny', checkpoint: file }), { outDir: tempDir('latent-rewrite-run'), targets: ['enc'] }));
    assert.is(r.status, 'done', JSON.stringify(r.errors));
    return Array.from((outputs(r, 'enc').latents as { data: Float32Array }).data);
  };
  const a = await latents();
  assert.equal(await latents(), a);
  await new Promise((res) => setTimeout(res, 20)); // a distinct mtime on coarse-grained file systems
  await saveParamsFile(file, await initialWeights(2), { [CONFIG_KEY]: JSON.stringify(tiny) });
  assert.not.equal(await latents(), a);
});

test('latent/Autoencoder: a checkpoint of another preset fails the node, naming the differences; paths outside the workspace are refused', async () => {
  const r = await collectRun(engine.run(graph({ preset: 'small', checkpoint: ckpt }), { outDir: tempDir('latent-bad'), targets: ['dec'] }));
  assert.is(r.status, 'failed');
  assert.match(r.errors[0]!.message, /trained with preset 'tiny', the Autoencoder node asks for 'small'/);
  const outside = await collectRun(engine.run(graph({ preset: 'tiny', checkpoint: '../../../etc/passwd' }), { outDir: tempDir('latent-out'), targets: ['dec'] }));
  assert.is(outside.status, 'failed');
  const failed = outside.events.find((e) => e.type === 'run:failed') as unknown as { issues: { code: string; pointer: string }[] };
  assert.equal(failed.issues.map((i) => [i.code, i.pointer]), [['path_outside_workspace', '/nodes/ae/params/checkpoint']]);
});

test('latent/Encode without weights says how to get them', async () => {
  const r = await collectRun(engine.run(graph({ preset: 'tiny' }), { outDir: tempDir('latent-none'), targets: ['dec'] }));
  assert.is(r.status, 'failed');
  assert.match(r.errors[0]!.message, /has no weights \(load a checkpoint in latent\/Autoencoder, or train it with train\/Train\)/);
});

test('graphs/latent-train.json runs end to end at the tiny preset: train/Train trains the handle, held-out reconstructions are scored', async () => {
  const g = JSON.parse(readFileSync(new URL('../../graphs/latent-train.json', import.meta.url), 'utf8')) as { nodes: Record<string, { params?: Record<string, unknown> }> };
  Object.assign(g.nodes.trainData!.params!, { train: 12 });
  Object.assign(g.nodes.testData!.params!, { test: 4 });
  Object.assign(g.nodes.autoencoder!.params!, { preset: 'tiny' });
  Object.assign(g.nodes.train!.params!, { steps: 4, batchSize: 2, warmupSteps: 1, checkpointEvery: 2, checkpointDir: join(tempDir('latent-graph-ckpt'), 'ck') });
  const out = tempDir('latent-graph');
  const r = await collectRun(engine.run(g as never, { outDir: out }));
  assert.is(r.status, 'done', JSON.stringify(r.errors));
  const summary = outputs(r, 'train').summary as { steps: number };
  assert.is(summary.steps, 4);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics/reconstruction/metrics.json'), 'utf8')) as unknown;
  assert.match(JSON.stringify(metrics), /identityPsnr/);
  assert.ok(readFileSync(join(out, 'train/ae-small.safetensors')).length > 30_000);
});

test.run();
