import { createHash } from 'node:crypto';
import { Rng } from 'tessera';
import type { ModelFn, Tensor } from 'tessera/kernels';
import type { SemAlignSample } from 'tessera/semalign';
import type { Trainable, TrainBatch, TrainingProgram } from 'tessera/train';
import { configDifferences, downFactor, type AutoencoderConfig } from './config.ts';
import { checkImages, imagesToTensor } from './images.ts';
import { checkLossWeights, pixelWeights, type LossWeights } from './loss.ts';
import { trainingStepProgram } from './programs.ts';
import { maskedImages, type MaskedImage } from './subjectMask.ts';

/** Checkpoint metadata keys. */
export const CONFIG_KEY = 'latent.config';
export const LOSS_KEY = 'latent.loss';
export const DATA_KEY = 'latent.data';

/** What the program reads of a handle (AutoencoderModel implements it; no import cycle). */
export interface AutoencoderState {
  readonly config: AutoencoderConfig;
  readonly loss: LossWeights;
  readonly weights: { readonly params: Readonly<Record<string, Tensor>> } | null;
  withWeights(w: { params: Record<string, Tensor>; source: string; step: number }): Trainable;
}

const METRICS = ['mse', 'subjectMse'] as const;

/**
 * Trains the autoencoder on SemAlign samples: every target and every reference is a training
 * image with its subject mask. Images of one size form a variant (`64x64` targets, `32x32`
 * references: the network is fully convolutional, so both share every weight). The batch of step
 * s is a pure function of (seed, s): a size group picked with equal probability, then images drawn
 * uniformly from it, so targets get half the steps although references outnumber them.
 */
export class AutoencoderTrainingProgram implements TrainingProgram {
  readonly variants: string[];
  readonly metrics = [...METRICS];
  readonly metadata: Record<string, string>;
  readonly initial?: Record<string, Tensor>;
  private readonly groups = new Map<string, MaskedImage[]>();
  private readonly fns = new Map<string, ModelFn>();

  constructor(
    private readonly model: AutoencoderState,
    samples: readonly SemAlignSample[],
    _options: { steps: number },
  ) {
    checkLossWeights(model.loss);
    if (samples.length === 0) throw new RangeError('latent: no training samples');
    samples.forEach((s, i) => {
      if (!s || typeof s !== 'object' || !s.annotation || !s.target || !Array.isArray(s.refs) || !s.label) throw new TypeError(`latent: training item ${i} is not a SemAlign sample`);
    });
    const f = downFactor(model.config);
    for (const item of maskedImages(samples)) {
      const key = `${item.image.width}x${item.image.height}`;
      let g = this.groups.get(key);
      if (!g) this.groups.set(key, (g = []));
      g.push(item);
    }
    // Sizes checked up front, per group, before any session is built.
    for (const [key, items] of this.groups) checkImages(items.map((i) => i.image), f, `latent: training images ${key}`);
    this.variants = [...this.groups.keys()].sort((a, b) => parseInt(b) - parseInt(a));
    this.metadata = {
      [CONFIG_KEY]: JSON.stringify(model.config),
      [LOSS_KEY]: JSON.stringify(model.loss),
      [DATA_KEY]: `${samples.length}:${createHash('sha256').update(samples.map((s) => `${s.annotation.id}/${s.refs.length}`).join(',')).digest('hex').slice(0, 16)}`,
    };
    if (model.weights) this.initial = { ...model.weights.params };
  }

  modelFn(variant: string, batchSize: number): ModelFn {
    const key = `${variant}:${batchSize}`;
    let fn = this.fns.get(key);
    if (!fn) {
      const item = this.groups.get(variant)?.[0];
      if (!item) throw new RangeError(`latent: unknown variant '${variant}' (known: ${this.variants.join(', ')})`);
      fn = trainingStepProgram(this.model.config, batchSize, item.image.height, item.image.width);
      this.fns.set(key, fn);
    }
    return fn;
  }

  batch(step: number, batchSize: number, seed: number): TrainBatch {
    const rng = new Rng(seed).fork(`latent-batch:${step}`);
    const variant = this.variants[rng.int(this.variants.length)]!;
    const group = this.groups.get(variant)!;
    const picked = Array.from({ length: batchSize }, () => group[rng.int(group.length)]!);
    const { w, m } = pixelWeights(picked, this.model.loss);
    return { variant, feeds: { x: imagesToTensor(picked.map((p) => p.image)), w, m }, size: batchSize, metrics: METRICS };
  }

  checkMetadata(meta: Readonly<Record<string, string>>): string[] {
    const raw = meta[CONFIG_KEY];
    if (!raw) return ['the checkpoint has no autoencoder config (not written by a latent training run)'];
    let saved: Partial<AutoencoderConfig>;
    try {
      saved = JSON.parse(raw) as Partial<AutoencoderConfig>;
    } catch {
      return [`the checkpoint's ${CONFIG_KEY} is not JSON`];
    }
    const out = configDifferences(saved, this.model.config);
    if (meta[LOSS_KEY] !== undefined && meta[LOSS_KEY] !== this.metadata[LOSS_KEY]) out.push(`loss weights differ: ${meta[LOSS_KEY]} in the checkpoint, ${this.metadata[LOSS_KEY]} in this graph`);
    if (meta[DATA_KEY] !== undefined && meta[DATA_KEY] !== this.metadata[DATA_KEY]) out.push(`training samples (count:hash of ids) differ: ${meta[DATA_KEY]} in the checkpoint, ${this.metadata[DATA_KEY]} in this graph`);
    return out;
  }

  withWeights(params: Record<string, Tensor>, info: { step: number; source: string }): Trainable {
    return this.model.withWeights({ params, source: info.source, step: info.step });
  }
}
