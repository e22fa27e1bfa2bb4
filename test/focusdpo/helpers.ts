import { MosaicModel, type MosaicConfig } from 'tessera/mosaic';
import type { SemAlignSample } from 'tessera/semalign';
import type { AutoencoderModel } from '../../plugins/latent/AutoencoderModel.ts';
import { perturbedWeights } from '../mosaic/helpers.ts';
import { fixtures } from '../semalign/helpers.ts';

export { fixtures };

/**
 * A MOSAIC handle with weights: a Trainer's initialisation plus N(0, std²) noise, so the
 * zero-initialised output layers carry signal (a zero velocity would make every error equal).
 * A latent config carries `autoencoder`.
 */
export async function weightedModel(config: MosaicConfig, samples: readonly SemAlignSample[], std = 0.05, seed = 7, autoencoder?: AutoencoderModel): Promise<MosaicModel> {
  const base = autoencoder ? new MosaicModel(config).withAutoencoder(autoencoder) : new MosaicModel(config);
  return base.withWeights({ params: await perturbedWeights(config, samples, std, seed, autoencoder), source: 'test: perturbed init', step: 0 });
}
