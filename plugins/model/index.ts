/**
 * model: bring your own model. Imports a PyTorch-exported ONNX file as a MODEL handle that
 * train/Train fine-tunes (flow matching on images), with optional LoRA adapters (docs/import.md).
 * Internal: listed in plugins/index.ts (built-in plugins), no public module yet.
 *
 * @packageDocumentation
 */
import { definePlugin } from 'tessera';
import { ImportOnnx } from './nodes/ImportOnnx.ts';
import { LoRA } from './nodes/LoRA.ts';

export { ImportedModel } from './ImportedModel.ts';
export type { ModelMapping, LoraSpec, ImportedWeights } from './ImportedModel.ts';
export { FlowMatchingProgram } from './FlowMatchingProgram.ts';
export { ImportOnnx, LoRA };

export default definePlugin({ name: 'model', version: '0.1.0', nodes: [ImportOnnx, LoRA] });
