import { loadCheckedWeights } from 'tessera/train';
import type { AutoencoderWeights } from './AutoencoderModel.ts';
import { CONFIG_KEY } from './AutoencoderTrainingProgram.ts';
import { configDifferences, type AutoencoderConfig } from './config.ts';
import { expectedParams } from './programs.ts';

/**
 * Loads autoencoder weights (a train/Train checkpoint or a weights-only file) after checking,
 * before any session is built, that they were written for this config (train's
 * loadCheckedWeights).
 */
export async function loadWeights(path: string, c: AutoencoderConfig): Promise<AutoencoderWeights> {
  return loadCheckedWeights(path, {
    owner: 'latent',
    kind: 'an autoencoder checkpoint',
    network: 'autoencoder',
    asker: 'the Autoencoder node',
    hint: "set the node's preset to match, or pick another checkpoint",
    configKey: CONFIG_KEY,
    config: c,
    configDifferences,
    expected: expectedParams(c),
  });
}
