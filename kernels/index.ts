/**
 * tessera/kernels: differentiable tensor programs traced to ONNX and run by onnxruntime-node,
 * with reverse-mode autodiff into standard ONNX ops, optimizers and one-graph training steps.
 *
 * @example
 * import { Trainer, adamw, init, ops } from 'tessera/kernels';
 * const trainer = await Trainer.create((g) => {
 *   const x = g.input('x', [64, 2]); const y = g.input('y', [64, 1]);
 *   const w = g.param('w', [2, 1], { init: init.xavier() });
 *   return { loss: ops.matmul(x, w).sub(y).square().mean() };
 * }, { optimizer: adamw({ lr: 1e-2 }), seed: 1 });
 * const { loss } = await trainer.step({ x: xs, y: ys });
 *
 * @packageDocumentation
 */

// ONNX protobuf encoding/decoding and import of external graphs
export type { DType, ExternalDataRef, OnnxModel, OnnxGraph, OnnxNode, OnnxTensor, OnnxAttribute, OnnxValueInfo } from './onnx/OnnxModel.ts';
export { DEFAULT_IR_VERSION, DEFAULT_OPSET } from './onnx/OnnxModel.ts';
export { encodeModel } from './onnx/encodeModel.ts';
export { decodeModel, externalDataLocations, loadOnnxFile } from './onnx/decodeModel.ts';
export { resolveExternalData } from './onnx/externalData.ts';
export { importOnnx, importOnnxModel } from './trace/importOnnx.ts';
export type { ImportOptions, ImportResult } from './trace/importOnnx.ts';
export type { ImportedParam } from './trace/importNames.ts';
export type { NodeRewrite, RewriteSite } from './trace/importRewrite.ts';
export { loraRewrites } from './trace/lora.ts';
export { closeNames } from './trace/closeNames.ts';
export type { LoraOptions } from './trace/lora.ts';

// Tensor runtime: tensors, sessions, providers, worker threads
export { Tensor } from './runtime/Tensor.ts';
export type { TensorLike, NestedNumbers } from './runtime/Tensor.ts';
export { ALTERNATING_SESSIONS, KernelSession, SessionCache, defaultSessionCache } from './runtime/KernelSession.ts';
export type { Provider, SessionOptions, Runner } from './runtime/KernelSession.ts';
export { runWithProviderScope, currentProviderSetting, PROVIDER_SETTINGS } from './runtime/provider.ts';
export type { ProviderScope, ProviderSetting, ProviderLog } from './runtime/provider.ts';
export { Kernel, compile, checkFeeds } from './runtime/Kernel.ts';
export type { CompileOptions, InputSpec } from './runtime/Kernel.ts';
export { KernelWorker, WorkerSession } from './runtime/KernelWorker.ts';
export { BatchedKernel, compileBatched } from './runtime/BatchedKernel.ts';

// Tracing builder and autodiff
export { Graph } from './trace/Graph.ts';
export type { FloatDType, ParamInfo, ParamOptions } from './trace/Graph.ts';
export { Sym } from './trace/Sym.ts';
export type { OpRecord } from './trace/Sym.ts';
export { TraceError } from './trace/TraceError.ts';
export { init } from './trace/init.ts';
export type { Init } from './trace/init.ts';
export * as ops from './trace/ops.ts';
export { einsum } from './trace/einsum.ts';
export { resize } from './trace/resize.ts';
export type { ResizeOptions } from './trace/resize.ts';
export { instanceNorm, groupNorm } from './trace/normalization.ts';
export { grad } from './autodiff/grad.ts';

// Optimizers, training steps, checkpoints
export { adamw, sgd } from './train/optimizers.ts';
export type { OptimizerSpec, AdamWSpec, SgdSpec, LrSpec } from './train/optimizers.ts';
export { schedules } from './train/schedules.ts';
export { Trainer, saveParamsFile } from './train/Trainer.ts';
export type { TrainerOptions, StepResult } from './train/Trainer.ts';
export { CHECKPOINT_FORMAT, PARAMS_FORMAT, RESERVED_METADATA_KEYS } from './train/Trainer.ts';
export { Predictor } from './train/Predictor.ts';
export type { PredictFn, PredictorOptions, ParamsFile } from './train/Predictor.ts';
export { buildStepGraph, buildForwardGraph } from './train/buildStep.ts';
export type { ModelFn, ModelOutput, ParamLayout, ParamSlot, TrainableSelector } from './train/buildStep.ts';
export { saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors } from './train/safetensors.ts';

// Building blocks (attention, divergences, flow matching); MOSAIC's own losses live in plugins/mosaic
export { multiHeadAttention, scaledDotProductAttention, splitHeads, mergeHeads, groupMask } from './blocks/attention.ts';
export type { AttentionParams, AttentionOptions, AttentionResult } from './blocks/attention.ts';
export { restrictedAttentionMap, averageMaps, klDivergence, jsDivergence, symmetricKL, weightedMSE, flowMatchingNoise } from './blocks/losses.ts';
export { transformerBlock, transformerBlockParams } from './blocks/transformerBlock.ts';
export type { TransformerBlockParams } from './blocks/transformerBlock.ts';

// Testing helpers for code built on these kernels
export { gradCheck } from './testing/gradCheck.ts';
export type { GradCheckInput, GradCheckOptions, GradCheckResult, GradCheckWorst } from './testing/gradCheck.ts';
