import type { Tensor } from 'tessera/kernels';
import type { Trainable } from 'tessera/train';
import type { AutoencoderModel } from 'tessera/latent';
import type { LossTerm } from './lossTerms.ts';
import type { MosaicConfig } from './MosaicConfig.ts';

/** Trained or loaded weights a handle carries. */
export interface MosaicWeights {
  readonly params: Readonly<Record<string, Tensor>>;
  /** Where they came from (a checkpoint path, or "train/Train step N"). */
  readonly source: string;
  readonly step: number;
}

/**
 * What the training program reads of a MOSAIC handle. MosaicModel implements it; the program
 * depends on this shape rather than on the class, so the two files do not import each other.
 */
export interface MosaicModelState {
  readonly config: MosaicConfig;
  readonly terms: readonly LossTerm[];
  /** Blocks the correspondence map averages over. */
  readonly mapBlocks: number[];
  readonly weights: MosaicWeights | null;
  /** The autoencoder of a 'latent' model. */
  readonly autoencoder: AutoencoderModel | null;
  term<K extends LossTerm['kind']>(kind: K): Extract<LossTerm, { kind: K }> | undefined;
  withWeights(weights: MosaicWeights): Trainable;
}
