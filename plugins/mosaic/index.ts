/**
 * mosaic: MOSAIC multi-subject generation — an in-context multi-reference diffusion transformer,
 * the semantic correspondence attention loss (SCAL) and the multi-reference disentanglement loss
 * (MDL), training through train/Train and Euler sampling (docs/mosaic.md, docs/results.md).
 *
 * @packageDocumentation
 */
import { definePlugin } from 'tessera';
import { AttentionHeatmap } from './nodes/AttentionHeatmap.ts';
import { CorrespondenceAttention } from './nodes/CorrespondenceAttention.ts';
import { MDLoss } from './nodes/MDLoss.ts';
import { Model } from './nodes/Model.ts';
import { Sample } from './nodes/Sample.ts';
import { SCALoss } from './nodes/SCALoss.ts';
import { TeacherForcedAttention } from './nodes/TeacherForcedAttention.ts';
import { SubjectWeight } from './nodes/SubjectWeight.ts';

export { MosaicModel } from './model/MosaicModel.ts';
export type { MosaicWeights } from './model/MosaicModel.ts';
export { PRESETS, resolveConfig, dims, layoutDim } from './model/MosaicConfig.ts';
export type { MosaicConfig } from './model/MosaicConfig.ts';
export { mosaicNetwork, tokenLayout } from './model/mosaicNetwork.ts';
export { networkInputs, trainingStepProgram, velocityProgram } from './model/mosaicPrograms.ts';
export { buildBatch, checkSamples, conditionFeeds } from './model/mosaicBatch.ts';
export { timeFeatures } from './model/positionFeatures.ts';
export { loadWeights } from './model/loadWeights.ts';
export { correspondenceMapOf, heatmapPanel } from './model/correspondencePreview.ts';
export * from './plots/index.ts';
export type { LossTerm, ScalTerm, MdlTerm, SubjectTerm } from './model/lossTerms.ts';
export { encodeSamples, latentsFor, checkAutoencoder, autoencoderHash, AUTOENCODER_KEY } from './model/latentCache.ts';
export type { LatentLookup, SampleLatents } from './model/mosaicBatch.ts';
export * from './losses/index.ts';
export * from './sampling/index.ts';
export { teacherForcedMaps } from './sampling/teacherForcedMaps.ts';
export type { TeacherForcedOptions } from './sampling/teacherForcedMaps.ts';
export { Model, CorrespondenceAttention, SCALoss, MDLoss, Sample, AttentionHeatmap, TeacherForcedAttention, SubjectWeight };

export default definePlugin({ name: 'mosaic', version: '0.1.0', nodes: [Model, CorrespondenceAttention, SCALoss, MDLoss, Sample, AttentionHeatmap, TeacherForcedAttention, SubjectWeight] });
