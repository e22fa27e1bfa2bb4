/**
 * The MOSAIC model and data the training benchmarks time (train.bench.ts, bench/gpu/probe.ts):
 * what a real run trains, with taps on all blocks, SCAL (α 0.4, per reference) and MDL (β 0.6,
 * no warm-up, annotated points, JSD), over SemAlign-Synth samples that all have K references.
 */
import { Trainer, adamw, type Tensor } from '../../kernels/index.ts';
import { type MosaicConfig } from '../../plugins/mosaic/model/MosaicConfig.ts';
import { MosaicModel, type MosaicWeights } from '../../plugins/mosaic/model/MosaicModel.ts';
import { trainingStepProgram } from '../../plugins/mosaic/model/mosaicPrograms.ts';
import { DEFAULT_CONFIG, generateSample } from '../../plugins/semalign/sample.ts';
import type { TrainingProgram } from '../../plugins/train/Trainable.ts';

export function benchModel(c: MosaicConfig): MosaicModel {
  const all = Array.from({ length: c.depth }, (_, i) => i);
  return new MosaicModel(c)
    .withTaps(all)
    .withTerm({ kind: 'scal', alpha: 0.4, mode: 'reference' })
    .withTerm({ kind: 'mdl', beta: 0.6, warmupStart: 0, rampSteps: 0, mode: 'points', distance: 'jsd' });
}

/** A training program whose samples all have K references (so every batch is variant k<K>). */
export function programWithK(model: MosaicModel, k: number, batch: number, steps: number): TrainingProgram {
  const count = Math.max(16, 4 * batch);
  const samples = Array.from({ length: count }, (_, i) => generateSample({ ...DEFAULT_CONFIG, kMax: 8 }, { split: 'train', index: i, k }));
  return model.trainingProgram(samples, { steps });
}

/** Untrained weights: a Trainer's initialisation (parameters do not depend on K or the loss terms, so a K = 1 diffusion-only graph traces them all). */
export async function initialWeights(config: MosaicConfig, seed: number): Promise<MosaicWeights> {
  const trainer = await Trainer.create(trainingStepProgram(config, 1, 1, { scal: false, mdl: null, tapBlocks: [] }), { optimizer: adamw({ lr: 1e-4 }), seed });
  try {
    return { params: (await trainer.readParams()) as Record<string, Tensor>, source: `Trainer initialisation (seed ${seed})`, step: 0 };
  } finally {
    await trainer.dispose();
  }
}
