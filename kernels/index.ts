/**
 * tessera/kernels: differentiable tensor programs traced to ONNX and run by onnxruntime-node.
 *
 * @packageDocumentation
 */
export type { DType, OnnxModel, OnnxGraph, OnnxNode, OnnxTensor, OnnxAttribute, OnnxValueInfo } from './onnx/OnnxModel.ts';
export { DEFAULT_IR_VERSION, DEFAULT_OPSET } from './onnx/OnnxModel.ts';
export { encodeModel } from './onnx/encodeModel.ts';
export { decodeModel, loadOnnxFile } from './onnx/decodeModel.ts';
export { Tensor } from './runtime/Tensor.ts';
export type { TensorLike, NestedNumbers } from './runtime/Tensor.ts';
export { KernelSession, SessionCache, defaultSessionCache } from './runtime/KernelSession.ts';
export type { Provider, SessionOptions } from './runtime/KernelSession.ts';
export { Graph } from './trace/Graph.ts';
export type { FloatDType, ParamInfo, ParamOptions, OpRecord } from './trace/Graph.ts';
export { Sym } from './trace/Sym.ts';
export { TraceError } from './trace/TraceError.ts';
export { init } from './trace/init.ts';
export type { Init } from './trace/init.ts';
export * as ops from './trace/ops.ts';
export { grad } from './autodiff/grad.ts';
export { Kernel, compile, checkFeeds } from './runtime/Kernel.ts';
export type { CompileOptions, InputSpec } from './runtime/Kernel.ts';
export { KernelWorker, WorkerSession } from './runtime/KernelWorker.ts';
export type { Runner } from './runtime/KernelSession.ts';
export { adamw, sgd } from './train/optimizers.ts';
export type { OptimizerSpec, AdamWSpec, SgdSpec, LrSpec } from './train/optimizers.ts';
export { schedules } from './train/schedules.ts';
export { Trainer } from './train/Trainer.ts';
export type { TrainerOptions, StepResult } from './train/Trainer.ts';
export { buildStepGraph, buildForwardGraph } from './train/buildStep.ts';
export type { ModelFn, ModelOutput, ParamLayout, ParamSlot, TrainableSelector } from './train/buildStep.ts';
export { saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors } from './train/safetensors.ts';
export { multiHeadAttention, scaledDotProductAttention, splitHeads, mergeHeads, groupMask, mosaicMask } from './blocks/attention.ts';
export type { AttentionParams, AttentionOptions, AttentionResult } from './blocks/attention.ts';
export {
  restrictedAttentionMap,
  averageMaps,
  nllAtPairs,
  klDivergence,
  jsDivergence,
  symmetricKL,
  disentanglementLoss,
  weightedMSE,
  flowMatchingNoise,
} from './blocks/losses.ts';
export { transformerBlock, transformerBlockParams } from './blocks/transformerBlock.ts';
export type { TransformerBlockParams } from './blocks/transformerBlock.ts';
export { importOnnx } from './trace/importOnnx.ts';
export type { ImportOptions } from './trace/importOnnx.ts';
