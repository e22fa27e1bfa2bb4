import type { ModelFn, Tensor, TensorLike } from 'tessera/kernels';

/** One step's data: which step graph (variant) runs it and its feeds. */
export interface TrainBatch {
  variant: string;
  feeds: Record<string, TensorLike>;
  /** Samples in the batch (for throughput figures). */
  size: number;
  /** Scalar outputs this variant has (a subset of the program's `metrics`). */
  metrics: readonly string[];
}

/**
 * What `train/Train` needs from a MODEL handle: everything wired into the handle (adapters,
 * loss nodes, correspondence taps) is already folded into `modelFn`, so Train compiles one
 * training-step graph per variant (e.g. per number of references) and knows nothing about the
 * model itself.
 */
export interface TrainingProgram {
  /** Variant keys; every variant traces the same parameters. */
  readonly variants: readonly string[];
  /** The loss program of one variant for batches of `batchSize` samples. */
  modelFn(variant: string, batchSize: number): ModelFn;
  /**
   * The batch for 0-based step `step`: a pure function of (data, seed, step), so a resumed run
   * sees exactly the batches an uninterrupted one would.
   */
  batch(step: number, batchSize: number, seed: number): TrainBatch;
  /** Scalar model outputs logged every step besides the total loss (e.g. per-term losses). */
  readonly metrics: readonly string[];
  /** Written into every checkpoint; `checkMetadata` compares it on resume. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Reasons a checkpoint cannot be resumed by this program (empty: it can). */
  checkMetadata(meta: Readonly<Record<string, string>>): string[];
  /**
   * Async work before the first batch (e.g. encoding the data with an autoencoder), called once
   * by train/Train; `batch` may rely on it. Must not change what `batch` returns for a step.
   */
  prepare?(signal?: AbortSignal): Promise<void>;
  /** Start from these weights (e.g. a loaded checkpoint) instead of fresh initialisation. */
  readonly initial?: Readonly<Record<string, Tensor>>;
  /** The MODEL handle downstream nodes receive after training. */
  withWeights(params: Record<string, Tensor>, info: { step: number; source: string }): unknown;
  /**
   * The params a weights file (train/Train `weightsFile`) holds: the trained model's own, loadable
   * by the node that made the model. Default: all of them. A program that trains beside frozen
   * copies (FocusDPO's reference model) leaves those out.
   */
  weightsOf?(params: Record<string, Tensor>): Record<string, Tensor>;
}

/** A MODEL handle that can be trained. */
export interface Trainable {
  trainingProgram(data: unknown, options: { steps: number }): TrainingProgram;
}

/** Type guard for MODEL handles Train accepts. */
export function isTrainable(x: unknown): x is Trainable {
  return typeof x === 'object' && x !== null && typeof (x as Trainable).trainingProgram === 'function';
}
