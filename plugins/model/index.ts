/**
 * model: bring your own model. Imports a PyTorch-exported ONNX file as a MODEL handle that
 * train/Train fine-tunes (flow matching on images), with optional LoRA adapters, and model/Sample
 * generates images from (docs/import.md).
 * Public as 'tessera/model': other plugins attach losses to an imported model's named attention
 * through {@link AttentionTapModel} and {@link TapLoss} (mosaic/SCALoss adds SCAL this way), and
 * set a preference objective through {@link PairObjectiveModel} (focusdpo/DPOLoss sets Flow-DPO).
 *
 * @packageDocumentation
 */
import { definePlugin } from 'tessera';
import { ImportOnnx } from './nodes/ImportOnnx.ts';
import { LoRA } from './nodes/LoRA.ts';
import { Sample } from './nodes/Sample.ts';

export { ImportedModel } from './ImportedModel.ts';
export type { ModelMapping, LoraSpec, ImportedWeights } from './ImportedModel.ts';
export { FlowMatchingProgram } from './FlowMatchingProgram.ts';
export { isAttentionTapModel } from './attentionTaps.ts';
export type { AttentionTap, AttentionTapModel, TapLayout, TapLoss } from './attentionTaps.ts';
export { isPairObjectiveModel } from './pairObjective.ts';
export type { PairErrors, PairObjective, PairObjectiveModel } from './pairObjective.ts';
export { sampleImported, generationNoise } from './sampleImported.ts';
export { evaluations, planBatches } from './batchPlan.ts';
export { itemFileNames } from './itemFileNames.ts';
export { annotationDifferences, annotationsDigest } from './annotationsDigest.ts';
export type { GenerationItem, ImportedSampleOptions, ImportedSampleResult } from './sampleImported.ts';
export { ImportOnnx, LoRA, Sample };

export default definePlugin({ name: 'model', version: '0.1.0', nodes: [ImportOnnx, LoRA, Sample] });
