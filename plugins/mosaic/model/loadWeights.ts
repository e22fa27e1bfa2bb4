import { Graph } from 'tessera/kernels';
import type { AutoencoderModel } from 'tessera/latent';
import { autoencoderMismatch } from './latentCache.ts';
import { loadCheckedWeights } from 'tessera/train';
import { configDifferences, type MosaicConfig } from './MosaicConfig.ts';
import { velocityProgram } from './mosaicPrograms.ts';
import type { MosaicWeights } from './MosaicModel.ts';
import { CONFIG_KEY } from '../training/MosaicTrainingProgram.ts';

/** Names and shapes of every parameter a config traces (independent of K). */
export function expectedParams(c: MosaicConfig): Map<string, readonly number[]> {
  const g = new Graph();
  velocityProgram(c, 1, 1)(g);
  return new Map([...g.params.values()].map((p) => [p.name, p.shape]));
}

/**
 * Loads a MOSAIC checkpoint (a training checkpoint or a weights-only file) after checking, before
 * any session is built, that it was written for this config (train's loadCheckedWeights).
 */
export async function loadWeights(path: string, c: MosaicConfig, autoencoder: AutoencoderModel | null = null): Promise<MosaicWeights> {
  return loadCheckedWeights(path, {
    owner: 'mosaic',
    kind: 'a MOSAIC checkpoint',
    network: 'network',
    asker: 'the model node',
    hint: "set the Model node's preset to match, or pick another checkpoint",
    configKey: CONFIG_KEY,
    config: c,
    configDifferences,
    expected: expectedParams(c),
    checkMetadata: (meta) => (c.space === 'latent' ? autoencoderMismatch(meta, autoencoder) : []),
  });
}
