/** SCAL as wired by mosaic/SCALoss. */
export interface ScalTerm {
  readonly kind: 'scal';
  /** Weight α. */
  readonly alpha: number;
  /** 'reference': mean per reference, then over references (paper); 'pairs': flat mean over pooled pairs (public code). */
  readonly mode: 'reference' | 'pairs';
}

/** MDL as wired by mosaic/MDLoss. */
export interface MdlTerm {
  readonly kind: 'mdl';
  /** Weight β after warm-up. */
  readonly beta: number;
  /** β is 0 before this step… */
  readonly warmupStart: number;
  /** …then ramps linearly to β over this many steps. */
  readonly rampSteps: number;
  /** When set, the warm-up is these fractions of the run instead (resolved once the run length is known). */
  readonly fractions?: { readonly start: number; readonly ramp: number };
  /** 'tokens': mean of all a reference's rows (public code); 'points': of its annotated rows (paper). */
  readonly mode: 'tokens' | 'points';
  /** Jensen–Shannon (bounded; public code) or symmetric KL (paper). */
  readonly distance: 'jsd' | 'skl';
}

/** The subject-weighted flow loss as wired by mosaic/SubjectWeight. */
export interface SubjectTerm {
  readonly kind: 'subject';
  /** Weight of a token with no subject pixel (a token fully on subjects weighs 1). */
  readonly background: number;
}

export type LossTerm = ScalTerm | MdlTerm | SubjectTerm;
