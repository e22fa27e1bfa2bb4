import { Rng } from 'tessera';
import { Tensor, type ModelFn } from 'tessera/kernels';
import type { SemAlignSample } from 'tessera/semalign';
import type { Trainable, TrainBatch, TrainingProgram } from 'tessera/train';
import { annotationDifferences, annotationsDigest } from 'tessera/model';
import { createHash } from 'node:crypto';
import { betaAt, checkBatch, mdlRowWeights, scalTargets, scheduleForRun } from '../losses/index.ts';
import { buildBatch, checkSamples, conditionFeeds, groupByK, type LatentLookup } from '../model/mosaicBatch.ts';
import { autoencoderHash, AUTOENCODER_KEY, checkAutoencoder, latentsFor } from '../model/latentCache.ts';
import { configDifferences, dims, type MosaicConfig } from '../model/MosaicConfig.ts';
import type { MosaicModelState } from '../model/MosaicModelState.ts';
import { trainingStepProgram } from '../model/mosaicPrograms.ts';
import { timeFeatures } from '../model/positionFeatures.ts';

/** Checkpoint metadata key holding the model config as JSON. */
export const CONFIG_KEY = 'mosaic.config';
/** With SCAL or MDL: the annotations they read (ids, K, correspondences), see annotationsDigest. */
export const ANNOTATIONS_KEY = 'mosaic.annotations';

/** Logit-normal time: t = sigmoid(z), z ~ N(0, 1) (SD3 / the public code's sampling of t). */
const logitNormal = (rng: Rng) => 1 / (1 + Math.exp(-rng.normal()));

/**
 * Trains a MOSAIC handle on SemAlign samples: one step graph per K present in the data (variant
 * `k<K>`), each batch drawn from one K group. The batch of step s depends only on (seed, s):
 * a sample is drawn uniformly (so K follows the data), the rest of the batch from its K group.
 */
export class MosaicTrainingProgram implements TrainingProgram {
  readonly variants: string[];
  readonly metrics: string[];
  readonly metadata: Record<string, string>;
  readonly initial?: Record<string, Tensor>;
  private readonly groups: Map<number, number[]>;
  private readonly fns = new Map<string, ModelFn>();
  private latents: LatentLookup | undefined;

  constructor(
    private readonly model: MosaicModelState,
    private readonly samples: readonly SemAlignSample[],
    private readonly options: { steps: number },
  ) {
    const c = model.config;
    checkSamples(samples, c, 'training samples');
    if (c.space === 'latent') checkAutoencoder(model.autoencoder, c, 'train/Train');
    this.groups = groupByK(samples);
    this.variants = [...this.groups.keys()].map((k) => `k${k}`);
    const scal = model.term('scal');
    const mdl = model.term('mdl');
    // Every sample's correspondences against the grids, up front: a clear error before training.
    const { l, n } = dims(c);
    for (const [, idx] of this.groups) checkBatch(idx.map((i) => samples[i]!), l, n);
    this.metrics = ['diffusion', ...(scal ? ['scal'] : []), ...(mdl && [...this.groups.keys()].some((k) => k >= 2) ? ['mdl'] : [])];
    this.metadata = {
      [CONFIG_KEY]: JSON.stringify(c),
      'mosaic.terms': JSON.stringify(model.terms),
      'mosaic.tapBlocks': JSON.stringify(model.mapBlocks),
      // Which samples (ids and K, in order): a resume on other data would not be exact.
      'mosaic.data': `${samples.length}:${createHash('sha256').update(samples.map((s) => `${s.annotation.id}/${s.refs.length}`).join(',')).digest('hex').slice(0, 16)}`,
      // A latent model's data are the autoencoder's latents: other autoencoder weights, other data.
      ...(c.space === 'latent' ? { [AUTOENCODER_KEY]: autoencoderHash(model.autoencoder!) } : {}),
      // SCAL's and MDL's targets come from the correspondences, which mosaic.data does not cover.
      ...(scal || mdl ? { [ANNOTATIONS_KEY]: annotationsDigest(samples) } : {}),
    };
    if (model.weights) this.initial = { ...model.weights.params };
  }

  async prepare(signal?: AbortSignal): Promise<void> {
    this.latents = await latentsFor(this.model, this.samples, 'train/Train', signal);
  }

  modelFn(variant: string, batchSize: number): ModelFn {
    const key = `${variant}:${batchSize}`;
    let fn = this.fns.get(key);
    if (!fn) {
      const k = Number(variant.slice(1));
      const mdl = this.model.term('mdl');
      fn = trainingStepProgram(this.model.config, k, batchSize, {
        scal: !!this.model.term('scal'),
        mdl: mdl ? { distance: mdl.distance } : null,
        tapBlocks: this.model.mapBlocks,
        subjectWeighted: !!this.model.term('subject'),
      });
      this.fns.set(key, fn);
    }
    return fn;
  }

  batch(step: number, batchSize: number, seed: number): TrainBatch {
    const rng = new Rng(seed).fork(`batch:${step}`);
    const first = rng.int(this.samples.length);
    const k = this.samples[first]!.refs.length;
    const group = this.groups.get(k)!;
    const picked = [this.samples[first]!];
    while (picked.length < batchSize) picked.push(this.samples[group[rng.int(group.length)]!]!);
    const c = this.model.config;
    const { l, n } = dims(c);
    if (c.space === 'latent' && !this.latents) throw new Error('mosaic: a latent model\'s training data must be encoded first (prepare() was not called)');
    const b = buildBatch(picked, c, this.latents);
    const t = picked.map(() => logitNormal(rng));
    const feeds: TrainBatch['feeds'] = { x0: b.x0, ...conditionFeeds(b), t: Tensor.from(t, [batchSize]), tfeat: timeFeatures(t, c.width) };
    const subject = this.model.term('subject');
    if (subject) {
      const w = b.subject.data as Float32Array;
      feeds.tokw = new Tensor('float32', b.subject.shape, w.map((v) => subject.background + (1 - subject.background) * v));
    }
    const scal = this.model.term('scal');
    const mdl = this.model.term('mdl');
    if (scal) {
      feeds['scal.w'] = scalTargets(picked, { mode: scal.mode, refPatches: l, targetPatches: n });
      feeds['loss.alpha'] = Tensor.scalar(scal.alpha);
    }
    if (mdl && k >= 2) {
      feeds['mdl.w'] = mdlRowWeights(picked, { mode: mdl.mode, refPatches: l });
      feeds['loss.beta'] = Tensor.scalar(betaAt(step, scheduleForRun(mdl, this.options.steps)));
    }
    return { variant: `k${k}`, feeds, size: batchSize, metrics: ['diffusion', ...(scal ? ['scal'] : []), ...(mdl && k >= 2 ? ['mdl'] : [])] };
  }

  checkMetadata(meta: Readonly<Record<string, string>>): string[] {
    const raw = meta[CONFIG_KEY];
    if (!raw) return ['the checkpoint has no MOSAIC config (not written by a MOSAIC training run)'];
    let saved: Partial<MosaicConfig>;
    try {
      saved = JSON.parse(raw) as Partial<MosaicConfig>;
    } catch {
      return [`the checkpoint's ${CONFIG_KEY} is not JSON`];
    }
    const out = configDifferences(saved, this.model.config);
    const same = (key: string, what: string) => {
      if (meta[key] !== undefined && meta[key] !== this.metadata[key]) out.push(`${what} differ: ${meta[key]} in the checkpoint, ${this.metadata[key]} in this graph`);
    };
    same('mosaic.terms', 'loss terms');
    same('mosaic.tapBlocks', 'correspondence blocks');
    same('mosaic.data', 'training samples (count:hash of ids)');
    same(AUTOENCODER_KEY, 'autoencoder weights (hash)');
    const losses = [this.model.term('scal') ? 'SCAL' : '', this.model.term('mdl') ? 'MDL' : ''].filter(Boolean).join(' and ');
    out.push(...annotationDifferences(meta, this.metadata, ANNOTATIONS_KEY, losses));
    return out;
  }

  withWeights(params: Record<string, Tensor>, info: { step: number; source: string }): Trainable {
    return this.model.withWeights({ params, source: info.source, step: info.step });
  }
}


