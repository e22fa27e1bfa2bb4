import type { ImageValue } from 'tessera';
import { Predictor, Tensor } from 'tessera/kernels';
import type { SemAlignSample } from 'tessera/semalign';
import type { Trainable, TrainingProgram } from 'tessera/train';
import { downFactor, type AutoencoderConfig } from './config.ts';
import { checkImages, imagesToTensor, tensorToImages } from './images.ts';
import { PLAIN_LOSS, type LossWeights } from './loss.ts';
import { decodeProgram, encodeProgram } from './programs.ts';
import { AutoencoderTrainingProgram } from './AutoencoderTrainingProgram.ts';

/** Trained or loaded weights a handle carries. */
export interface AutoencoderWeights {
  readonly params: Readonly<Record<string, Tensor>>;
  /** Where they came from (a checkpoint path, or a training run's checkpoint). */
  readonly source: string;
  readonly step: number;
}

/** Images per session run in encode/decode (bounds memory and the number of traced shapes). */
export const CHUNK = 32;

/**
 * The autoencoder's MODEL handle: an immutable value (config, loss weights, weights when trained
 * or loaded). train/Train trains it through {@link Trainable}; latent/Encode and latent/Decode
 * run it. Each change returns a new handle.
 */
export class AutoencoderModel implements Trainable {
  readonly kind = 'latent-autoencoder';

  constructor(
    readonly config: AutoencoderConfig,
    readonly loss: LossWeights = PLAIN_LOSS,
    readonly weights: AutoencoderWeights | null = null,
  ) {}

  get factor(): number {
    return downFactor(this.config);
  }

  withLoss(loss: LossWeights): AutoencoderModel {
    return new AutoencoderModel(this.config, loss, this.weights);
  }

  withWeights(weights: AutoencoderWeights): AutoencoderModel {
    return new AutoencoderModel(this.config, this.loss, weights);
  }

  trainingProgram(data: unknown, options: { steps: number }): TrainingProgram {
    if (!Array.isArray(data)) throw new TypeError('latent: training data must be SEMALIGN_SAMPLES (an array of samples)');
    return new AutoencoderTrainingProgram(this, data as SemAlignSample[], options);
  }

  /** The encoder's (`enc.`) or decoder's (`dec.`) weights. */
  private params(what: string, prefix: 'enc.' | 'dec.'): Record<string, Tensor> {
    if (!this.weights) throw new Error(`${what}: the autoencoder has no weights (load a checkpoint in latent/Autoencoder, or train it with train/Train)`);
    return Object.fromEntries(Object.entries(this.weights.params).filter(([k]) => k.startsWith(prefix)));
  }

  /** Images (one size, sides multiples of the down factor) → latents [N, C, H/f, W/f]. Checks everything before building a session. */
  async encode(images: readonly ImageValue[]): Promise<Tensor> {
    const params = this.params('latent/Encode', 'enc.');
    const [h, w] = checkImages(images, this.factor, 'latent/Encode');
    const c = this.config;
    const f = this.factor;
    const out = new Float32Array(images.length * c.latentChannels * (h / f) * (w / f));
    await chunked(images.length, async (start, n) => {
      const p = await Predictor.create(encodeProgram(c, n, h, w), params);
      try {
        const { z } = await p.run({ x: imagesToTensor(images.slice(start, start + n)) });
        out.set(z!.data as Float32Array, start * c.latentChannels * (h / f) * (w / f));
      } finally {
        await p.dispose();
      }
    });
    return new Tensor('float32', [images.length, c.latentChannels, h / f, w / f], out);
  }

  /** Latents [N, C, h, w] → RGB images of side h·f × w·f. */
  async decode(latents: { readonly shape: readonly number[]; readonly data: unknown }): Promise<ImageValue[]> {
    const params = this.params('latent/Decode', 'dec.');
    const c = this.config;
    const s = latents?.shape;
    if (!Array.isArray(s) || s.length !== 4 || !s.every((d) => Number.isInteger(d) && d > 0) || s[1] !== c.latentChannels) {
      throw new RangeError(`latent/Decode: latents must be [N, ${c.latentChannels}, h, w], got ${Array.isArray(s) ? `[${s.join(', ')}]` : typeof s}`);
    }
    const [N, C, h, w] = s as [number, number, number, number];
    const data = latents.data;
    if (!(data instanceof Float32Array || data instanceof Float64Array || (Array.isArray(data) && data.every((v) => typeof v === 'number')))) throw new TypeError('latent/Decode: latent data must be a Float32Array, Float64Array or number[]');
    if (data.length !== N * C * h * w) throw new RangeError(`latent/Decode: latents hold ${data.length} values, shape [${s.join(', ')}] needs ${N * C * h * w}`);
    const per = C * h * w;
    const images: ImageValue[] = [];
    await chunked(N, async (start, n) => {
      const z = new Tensor('float32', [n, C, h, w], Float32Array.from({ length: n * per }, (_, i) => data[start * per + i]!));
      const p = await Predictor.create(decodeProgram(c, n, h, w), params);
      try {
        const { y } = await p.run({ z });
        images.push(...tensorToImages({ shape: y!.shape, data: y!.data as Float32Array }));
      } finally {
        await p.dispose();
      }
    });
    return images;
  }

  /** One line for logs and the editor. */
  describe(): string {
    const c = this.config;
    const f = this.factor;
    const loss = this.loss.subject === this.loss.background ? 'plain MSE' : `subject-weighted MSE (subject ${this.loss.subject}, background ${this.loss.background})`;
    return `autoencoder ${c.preset} (channels ${c.channels.join('/')}, ${c.resBlocks} res block(s) per level, 64×64×3 → ${64 / f}×${64 / f}×${c.latentChannels}) · ${loss}${this.weights ? ` · weights: ${this.weights.source}` : ' · untrained'}`;
  }
}

async function chunked(n: number, fn: (start: number, count: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < n; start += CHUNK) await fn(start, Math.min(CHUNK, n - start));
}
