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
 * A loss another plugin adds on an imported model's attention taps (mosaic/SCALoss adds SCAL,
 * mosaic/MDLoss MDL). The model's training program traces the taps, adds
 * `weight · scale · trace(...)` to its flow loss, logs the traced value under `name`, and feeds
 * `feeds(...)` every step. Why an interface rather than the loss math here: the loss stays with
 * the plugin that defines it, the model plugin only exposes q/k.
 */
export interface TapLoss {
  /** Metric name and identity: adding a second loss of the same name replaces the first. */
  readonly name: string;
  /** Its weight in the total loss. */
  readonly weight: number;
  /** Its settings as JSON, recorded in checkpoints (a resume under other settings is refused). */
  readonly settings: string;
  /**
   * References per sample it needs (MDL: 2, a divergence between references); batches of fewer
   * train without it, as on the built-in model. Absent: 1.
   */
  readonly minRefs?: number;
  /** The unweighted loss from the taps; graph inputs it declares start with `${name}.`. */
  trace(g: Graph, taps: readonly AttentionTap[], layout: TapLayout): Sym;
  /**
   * A scalar factor on `weight` from a graph input it declares (fed by `feeds`): a schedule such
   * as MDL's β warm-up, kept out of the logged value and never retraced. Absent: 1.
   */
  scale?(g: Graph, layout: TapLayout): Sym;
  /**
   * This batch's values of the inputs `trace` and `scale` declared; a RangeError names a sample
   * that does not fit `layout`. `progress` (0-based step of `steps`) lets a weight follow a
   * schedule as a feed (MDL's β warm-up) without retracing. Also called once per sample (batch
   * 1, any K, step 0) before training to check the data; it may return {} when `layout.k` is
   * under `minRefs`.
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
  /**
   * Evaluates `fn` on the taps of one forward over one sample, with the rows and condition of a
   * training step: its target noised to time `t` (noise seeded by `seed` and the sample id) and
   * its K references clean at t = 0. Uses the handle's weights; without any, the export's own
   * (LoRA adapters start as a no-op). For previews (mosaic's loss heatmaps).
   */
  evaluateTaps(sample: unknown, t: number, seed: number, fn: (g: Graph, taps: readonly AttentionTap[], layout: TapLayout) => Record<string, Sym>): Promise<Record<string, Tensor>>;
  describe(): string;
}

/** Whether a MODEL value takes tap losses (has named attention, `withTapLoss` and `evaluateTaps`). */
export function isAttentionTapModel(x: unknown): x is AttentionTapModel {
  const m = x as AttentionTapModel | null;
  return typeof m === 'object' && m !== null && Array.isArray(m.attention) && typeof m.withTapLoss === 'function' && typeof m.evaluateTaps === 'function';
}
