import type { Trainable, TrainingProgram } from 'tessera/train';
import type { SemAlignSample } from 'tessera/semalign';
import type { AutoencoderModel } from 'tessera/latent';
import type { LossTerm } from './lossTerms.ts';
import type { MosaicConfig } from './MosaicConfig.ts';
import { MosaicTrainingProgram } from '../training/MosaicTrainingProgram.ts';

import type { MosaicModelState, MosaicWeights } from './MosaicModelState.ts';

export type { MosaicWeights };

/**
 * The MODEL handle MOSAIC nodes pass along, as ComfyUI passes MODEL objects: an immutable value
 * (architecture, the blocks whose correspondence maps are exposed, the loss terms wired in, and
 * weights when trained or loaded). Each node returns a new handle, so branches of a graph never
 * see each other's additions.
 */
export class MosaicModel implements Trainable, MosaicModelState {
  readonly kind = 'mosaic';

  constructor(
    readonly config: MosaicConfig,
    /** Blocks whose reference→target maps feed the losses (null: none chosen yet → all). */
    readonly tapBlocks: readonly number[] | null = null,
    readonly terms: readonly LossTerm[] = [],
    readonly weights: MosaicWeights | null = null,
    /** The autoencoder a 'latent' model encodes its data with and decodes its samples with. */
    readonly autoencoder: AutoencoderModel | null = null,
  ) {}

  /** Blocks the correspondence map averages over. */
  get mapBlocks(): number[] {
    return this.tapBlocks ? [...this.tapBlocks] : Array.from({ length: this.config.depth }, (_, i) => i);
  }

  withTaps(blocks: readonly number[]): MosaicModel {
    const bad = blocks.filter((b) => !Number.isInteger(b) || b < 0 || b >= this.config.depth);
    if (bad.length || blocks.length === 0) throw new RangeError(`attention blocks must be a non-empty list within 0…${this.config.depth - 1}, got [${blocks.join(', ')}]`);
    return new MosaicModel(this.config, [...new Set(blocks)].sort((a, b) => a - b), this.terms, this.weights, this.autoencoder);
  }

  /** Adds a loss term (a second term of the same kind replaces the first). */
  withTerm(term: LossTerm): MosaicModel {
    return new MosaicModel(this.config, this.tapBlocks, [...this.terms.filter((t) => t.kind !== term.kind), term], this.weights, this.autoencoder);
  }

  withWeights(weights: MosaicWeights): MosaicModel {
    return new MosaicModel(this.config, this.tapBlocks, this.terms, weights, this.autoencoder);
  }

  withAutoencoder(autoencoder: AutoencoderModel): MosaicModel {
    return new MosaicModel(this.config, this.tapBlocks, this.terms, this.weights, autoencoder);
  }

  term<K extends LossTerm['kind']>(kind: K): Extract<LossTerm, { kind: K }> | undefined {
    return this.terms.find((t) => t.kind === kind) as Extract<LossTerm, { kind: K }> | undefined;
  }

  trainingProgram(data: unknown, options: { steps: number }): TrainingProgram {
    if (!Array.isArray(data)) throw new TypeError('mosaic: training data must be SEMALIGN_SAMPLES (an array of samples)');
    return new MosaicTrainingProgram(this, data as SemAlignSample[], options);
  }

  /** One line for logs and the editor. */
  describe(): string {
    const c = this.config;
    const terms = this.terms.map((t) => (t.kind === 'scal' ? `SCAL α=${t.alpha}` : t.kind === 'mdl' ? `MDL β=${t.beta}` : `subject-weighted flow loss (background ${t.background})`)).join(' + ') || 'diffusion only';
    return `MOSAIC ${c.preset} (width ${c.width}, depth ${c.depth}, ${c.heads} heads, LoRA ${c.loraRank}, ≤${c.maxRefs} refs${c.layoutPose ? ', pose in layout' : ''}${c.refPositions === 'pose' ? ', pose-warped reference positions' : ''}${c.space === 'latent' ? `, latent ${c.latentChannels}ch ×${c.latentDown}` : ''}) · ${terms}${this.weights ? ` · weights: ${this.weights.source}` : ' · untrained'}`;
  }
}
