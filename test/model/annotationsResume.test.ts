// Resuming a run whose losses read the annotations (SCAL/MDL targets come from each sample's
// correspondence, not its pixels): the checkpoint records a digest of the ids, K and
// correspondences (annotationsDigest), and a resume on other annotations, or from a checkpoint
// written before the digest existed, is refused saying why. Runs that read no annotations record
// none and resume old checkpoints as before. Imported models (FlowMatchingProgram) and MOSAIC.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { annotationsDigest } from 'tessera/model';
import { ImportedModel } from '../../plugins/model/index.ts';
import { scalTapLoss } from '../../plugins/mosaic/index.ts';
import { resolveConfig } from '../../plugins/mosaic/model/MosaicConfig.ts';
import { MosaicModel } from '../../plugins/mosaic/model/MosaicModel.ts';
import { DEFAULT_CONFIG, generateSample, type SemAlignSample } from '../../plugins/semalign/sample.ts';
import { UNET, load, samples } from './tapStep.ts';

/** The samples with sample 0's correspondence replaced by sample 1's (same grids; pixels untouched). */
const swapped = (data: SemAlignSample[]): SemAlignSample[] => data.map((s, i) => (i === 0 ? { ...s, annotation: { ...s.annotation, correspondence: data[1]!.annotation.correspondence } } : s));
/** The same samples with every correspondence's keys in reverse order (same JSON value). */
const reordered = (data: SemAlignSample[]): SemAlignSample[] =>
  data.map((s) => ({ ...s, annotation: { ...s.annotation, correspondence: Object.fromEntries(Object.entries(s.annotation.correspondence).reverse()) as SemAlignSample['annotation']['correspondence'] } }));
const without = (meta: Readonly<Record<string, string>>, key: string) => Object.fromEntries(Object.entries(meta).filter(([k]) => k !== key));

test('annotationsDigest: count and hash of ids, K and correspondences; key order does not matter, a changed correspondence or id does', () => {
  const data = samples(1, { patchSize: 8, refPatchSize: 4 }, 3);
  const d = annotationsDigest(data);
  assert.match(d, /^3:[0-9a-f]{16}$/);
  assert.is(annotationsDigest(reordered(data)), d);
  assert.is.not(annotationsDigest(swapped(data)), d);
  assert.is.not(annotationsDigest(data.map((s, i) => (i === 2 ? { ...s, annotation: { ...s.annotation, id: 'other' } } : s))), d);
});

test('imported model with SCAL: other correspondences (same pixels) or a checkpoint without the digest are refused; the same annotations resume', async () => {
  const unet = await load('tiny_unet_op17');
  const data = samples(1, { patchSize: 8, refPatchSize: 4 }, 3);
  const model = new ImportedModel(unet, 'test', UNET).withTapLoss(scalTapLoss({ alpha: 0.4, mode: 'reference' }));
  const saved = model.trainingProgram(data, { steps: 1 }).metadata;
  assert.is(saved['model.annotations'], annotationsDigest(data));
  assert.equal(model.trainingProgram(reordered(data), { steps: 1 }).checkMetadata(saved), []);
  const other = model.trainingProgram(swapped(data), { steps: 1 });
  assert.is(other.metadata['model.data'], saved['model.data'], 'the pixels alone do not tell the runs apart');
  assert.match(other.checkMetadata(saved).join('\n'), /the samples' annotations read by scal \(count:hash of ids, K and correspondences\) differ: 3:\w+ in the checkpoint, 3:\w+ in this graph/);
  assert.match(model.trainingProgram(data, { steps: 1 }).checkMetadata(without(saved, 'model.annotations')).join('\n'), /the checkpoint has no model\.annotations \(written before annotation hashes were recorded\), so the annotations its scal trained on cannot be checked/);
});

test('imported model without tap losses records no digest: its checkpoints, old or new, resume as before', async () => {
  const unet = await load('tiny_unet_op17');
  const data = samples(1, { patchSize: 8, refPatchSize: 4 }, 3);
  const plain = new ImportedModel(unet, 'test', UNET).trainingProgram(data, { steps: 1 });
  assert.not.ok('model.annotations' in plain.metadata);
  assert.equal(new ImportedModel(unet, 'test', UNET).trainingProgram(swapped(data), { steps: 1 }).checkMetadata(plain.metadata), [], 'the condition reads pixels only');
});

test('MOSAIC with SCAL or MDL: other correspondences or a checkpoint without the digest are refused; a plain run records none and resumes old checkpoints', () => {
  const config = resolveConfig('tiny');
  const data = [2, 2, 1].map((k, i) => generateSample({ ...DEFAULT_CONFIG, seed: 0 }, { split: 'train', index: i, k }));
  const scal = new MosaicModel(config).withTerm({ kind: 'scal', alpha: 0.5, mode: 'reference' });
  const saved = scal.trainingProgram(data, { steps: 4 }).metadata;
  assert.is(saved['mosaic.annotations'], annotationsDigest(data));
  assert.equal(scal.trainingProgram(reordered(data), { steps: 4 }).checkMetadata(saved), []);
  const moved = [data[1]!, data[0]!, data[2]!].map((s, i) => ({ ...s, annotation: { ...s.annotation, id: data[i]!.annotation.id } }));
  assert.is(scal.trainingProgram(moved, { steps: 4 }).metadata['mosaic.data'], saved['mosaic.data'], 'ids and K alone do not tell the runs apart');
  assert.match(scal.trainingProgram(moved, { steps: 4 }).checkMetadata(saved).join('\n'), /the samples' annotations read by SCAL .*differ/);
  assert.match(scal.trainingProgram(data, { steps: 4 }).checkMetadata(without(saved, 'mosaic.annotations')).join('\n'), /the checkpoint has no mosaic\.annotations .*the annotations its SCAL trained on cannot be checked .*resume it with the version that wrote it/);
  const mdl = new MosaicModel(config).withTerm({ kind: 'mdl', beta: 0.6, warmupStart: 0, rampSteps: 1, mode: 'points', distance: 'jsd' });
  assert.match(mdl.trainingProgram(data, { steps: 4 }).checkMetadata(without(mdl.trainingProgram(data, { steps: 4 }).metadata, 'mosaic.annotations')).join('\n'), /its MDL trained on/);
  const plain = new MosaicModel(config).trainingProgram(data, { steps: 4 });
  assert.not.ok('mosaic.annotations' in plain.metadata);
  assert.equal(new MosaicModel(config).trainingProgram(data, { steps: 4 }).checkMetadata(plain.metadata), []);
});

test.run();
