import type { Graph, Sym, Tensor } from 'tessera/kernels';
import type { SemAlignSample } from 'tessera/semalign';

/**
 * One named attention site of an imported model, traced over a batch of B targets and their
 * B·K references (the model runs on both; see FlowMatchingProgram). The same shape as MOSAIC's
 * CorrespondenceTap, so its correspondence map reads these directly.
 */
export interface AttentionTap {
  /** The mapping's ONNX tensor names of this site's queries and keys. */
  readonly q: string;
  readonly k: string;
  /** Queries of each sample's K references' tokens, [B, H, K·L, d] (reference order, tokens row-major). */
  readonly qRef: Sym;
  /** Keys of the target tokens, [B, H, N, d]. */
  readonly kTgt: Sym;
}

/** Sizes of one traced batch: samples, references per sample, tokens per reference and per target. */
export interface TapLayout {
  readonly batch: number;
  readonly k: number;
  readonly refTokens: number;
  readonly targetTokens: number;
}

/**
 * A loss another plugin adds on an imported model's attention taps (mosaic/SCALoss adds SCAL). The
 * model's training program traces the taps, adds `weight · trace(...)` to its flow loss, logs the
 * traced value under `name`, and feeds `feeds(...)` every step. Why an interface rather than the
 * loss math here: the loss stays with the plugin that defines it, the model plugin only exposes q/k.
 */
export interface TapLoss {
  /** Metric name and identity: adding a second loss of the same name replaces the first. */
  readonly name: string;
  /** Its weight in the total loss. */
  readonly weight: number;
  /** Its settings as JSON, recorded in checkpoints (a resume under other settings is refused). */
  readonly settings: string;
  /** The unweighted loss from the taps; graph inputs it declares start with `${name}.`. */
  trace(g: Graph, taps: readonly AttentionTap[], layout: TapLayout): Sym;
  /**
   * This batch's values of the inputs `trace` declared; a RangeError names a sample that does not
   * fit `layout`. `progress` (0-based step of `steps`) lets a weight follow a schedule as a feed
   * (MDL's β warm-up) without retracing.
   */
  feeds(samples: readonly SemAlignSample[], layout: TapLayout, progress: { readonly step: number; readonly steps: number }): Record<string, Tensor>;
  /** A few words for logs ("SCAL α=0.4"). */
  describe(): string;
}

/** A MODEL handle whose attention q/k tensors are named and that takes tap losses (model/ImportOnnx's). */
export interface AttentionTapModel {
  /** The named q/k pairs (empty: none named, so no tap loss can attach). */
  readonly attention: readonly { readonly q: string; readonly k: string }[];
  withTapLoss(loss: TapLoss): AttentionTapModel;
  describe(): string;
}

/** Whether a MODEL value takes tap losses (has named attention and `withTapLoss`). */
export function isAttentionTapModel(x: unknown): x is AttentionTapModel {
  const m = x as AttentionTapModel | null;
  return typeof m === 'object' && m !== null && Array.isArray(m.attention) && typeof m.withTapLoss === 'function';
}
