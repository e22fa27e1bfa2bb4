/**
 * latent: the convolutional autoencoder whose latent space MOSAIC v2 runs in (docs/latent.md):
 * a MODEL handle train/Train can train, a subject-weighted reconstruction loss, and Encode/Decode
 * nodes. This file is the plugin's public module.
 *
 * @packageDocumentation
 */
import { definePlugin } from 'tessera';
import { Autoencoder } from './nodes/Autoencoder.ts';
import { Decode } from './nodes/Decode.ts';
import { Encode } from './nodes/Encode.ts';
import { SubjectLoss } from './nodes/SubjectLoss.ts';

export { AutoencoderModel, CHUNK } from './AutoencoderModel.ts';
export type { AutoencoderWeights } from './AutoencoderModel.ts';
export { AutoencoderTrainingProgram, CONFIG_KEY } from './AutoencoderTrainingProgram.ts';
export { PRESETS, resolveConfig, configDifferences, downFactor } from './config.ts';
export type { AutoencoderConfig } from './config.ts';
export { encoder, decoder } from './network.ts';
export { trainingStepProgram, encodeProgram, decodeProgram, reconstructionLoss, expectedParams } from './programs.ts';
export { pixelWeights, weightedLossReference, psnrOfMse, PLAIN_LOSS, checkLossWeights } from './loss.ts';
export type { LossWeights } from './loss.ts';
export { checkImages, imagesToTensor, tensorToImages } from './images.ts';
export { targetMask, referenceMask, maskedImages } from './subjectMask.ts';
export type { MaskedImage } from './subjectMask.ts';
export { loadWeights } from './loadWeights.ts';
export { Autoencoder, SubjectLoss, Encode, Decode };

export default definePlugin({ name: 'latent', version: '0.1.0', nodes: [Autoencoder, SubjectLoss, Encode, Decode] });
