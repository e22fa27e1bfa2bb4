/** MOSAIC losses: correspondence maps, SCAL, MDL, their weights/schedules, references and heatmaps. */
export { correspondenceMap } from './correspondenceMap.ts';
export type { CorrespondenceTap } from './correspondenceMap.ts';
export { checkBatch } from './checkBatch.ts';
export type { SamplePairs } from './checkBatch.ts';
export { scalTargets } from './scalTargets.ts';
export type { ScalMode, ScalTargetOptions } from './scalTargets.ts';
export { scalLoss, SCAL_EPS } from './scalLoss.ts';
export { scalTapLoss } from './scalTapLoss.ts';
export { mdlRowWeights } from './mdlRowWeights.ts';
export type { MdlMode, MdlRowWeightOptions } from './mdlRowWeights.ts';
export { mdlLoss, referencePairs } from './mdlLoss.ts';
export type { MdlDistance, MdlLossOptions } from './mdlLoss.ts';
export { betaAt } from './betaAt.ts';
export type { BetaSchedule } from './betaAt.ts';
export { LOSS_PRESETS, fractionToSteps, resolveLossPreset } from './presets.ts';
export type { LossPreset, LossPresetName, LossSettings } from './presets.ts';
export { scalReference, mdlReference, correspondenceMapReference } from './reference.ts';
export type { MapDims, AttentionDims } from './reference.ts';
