import type { Graph, Sym } from 'tessera/kernels';

/**
 * Per-position flow-matching errors of a preference batch, each [B, P]: ‖v − (ε − x0)‖² averaged
 * over channels at each of the P = H·W pixels, for the winners (W) and losers (L), through the
 * trained policy and the frozen reference (the model as it was when training started).
 */
export interface PairErrors {
  readonly policyW: Sym;
  /** null when the objective is not pairwise. */
  readonly policyL: Sym | null;
  readonly refW: Sym | null;
  readonly refL: Sym | null;
}

/**
 * A training objective on preference pairs that another plugin sets on an imported model
 * (focusdpo/DPOLoss sets Flow-DPO or its SFT baseline). The model's program noises winner and
 * loser with the same ε and t, traces policy and reference, and hands the errors to `trace`.
 */
export interface PairObjective {
  /** Its name in logs and checkpoints ('dpo', 'sft'). */
  readonly name: string;
  /** Its settings as JSON, recorded in checkpoints (a resume under other settings is refused). */
  readonly settings: string;
  /** Whether `trace` reads the losers and the reference (false: winners through the policy only). */
  readonly pairwise: boolean;
  /** Names of the scalar outputs `trace` returns, logged every step. */
  readonly metrics: readonly string[];
  trace(g: Graph, errors: PairErrors, layout: { readonly batch: number; readonly positions: number }): { loss: Sym; outputs: Record<string, Sym> };
  describe(): string;
}

/** A MODEL handle that trains under a preference objective (model/ImportOnnx's). */
export interface PairObjectiveModel {
  /** Whether model/LoRA wrapped it (only the adapters train). */
  readonly lora: unknown;
  withPairObjective(objective: PairObjective): PairObjectiveModel;
  describe(): string;
}

/** Whether a MODEL value takes a preference objective. */
export function isPairObjectiveModel(x: unknown): x is PairObjectiveModel {
  return typeof x === 'object' && x !== null && typeof (x as PairObjectiveModel).withPairObjective === 'function';
}
