/**
 * semalign: SemAlign-Synth, a procedural multi-subject dataset with exact dense patch
 * correspondences and DIP preference pairs (see docs/semalign.md). This file is the plugin's
 * public module, `'tessera/semalign'`: other plugins import from it, never from its files.
 *
 * @packageDocumentation
 */
import { definePlugin } from 'tessera';
import { Generate } from './nodes/generate.ts';
import { Load, LoadAll } from './nodes/load.ts';
import { DipPairs, Preview } from './nodes/preview.ts';

export type { AttentionMaps } from './ports.ts';
export { SemAlignPorts } from './ports.ts';
export type { SemAlignSample, SemAlignAnnotation, GeneratorConfig } from './sample.ts';
export { ANNOTATION_VERSION, DEFAULT_CONFIG, generateSample, occlusionOrder, renderTarget, MAX_K } from './sample.ts';
export { generateInMemory, generateToDisk } from './generate.ts';
export { loadSample, readManifest, upgradeAnnotation } from './dataset.ts';
export type { RelativePose } from './geometry.ts';
export type { Affine } from './geometry.ts';
export { apply as applyAffine, poseFromRelative, referenceToTarget, relativePose } from './geometry.ts';
export { DatasetError } from './validate.ts';
export { identityFromId } from './identity.ts';
export { warpReference } from './warp.ts';
export { contactSheet } from './draw.ts';
export type { SheetOptions } from './draw.ts';
export { Generate, Load, LoadAll, Preview, DipPairs };

export default definePlugin({ name: 'semalign', version: '0.1.0', nodes: [Generate, Load, LoadAll, Preview, DipPairs] });
