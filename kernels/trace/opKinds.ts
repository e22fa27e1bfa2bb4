/**
 * Every op kind the tracer tapes, in two closed lists. Adding an op is one entry here plus its
 * tracing function in ops.ts: a kind in {@link DIFFERENTIABLE_OPS} without a rule in `VJPS`
 * (autodiff/vjps.ts, typed `Record<DifferentiableOpKind, VjpRule>`) fails `tsc`, and so does
 * taping a kind that is in neither list. Why two lists and not a rule returning null: autodiff
 * skips non-differentiable ops when it decides which tensors can carry a gradient at all.
 */
export const DIFFERENTIABLE_OPS = [
  // elementwise
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'neg',
  'abs',
  'exp',
  'log',
  'sqrt',
  'reciprocal',
  'square',
  'tanh',
  'sigmoid',
  'relu',
  'erf',
  'gelu',
  'sin',
  'cos',
  'clip',
  'cast',
  'where',
  // linear algebra and reductions
  'matmul',
  'gemm',
  'sum',
  'mean',
  'max',
  'softmax',
  'logSoftmax',
  // shapes
  'reshape',
  'transpose',
  'concat',
  'split',
  'slice',
  'gather',
  'expand',
  'pad',
  // layers
  'layerNorm',
  'conv2d',
  'convTranspose2d',
] as const;

/** Ops whose outputs carry no gradient at all (comparisons, logic, sign, stopGradient, noise). */
export const NON_DIFFERENTIABLE_OPS = ['equal', 'less', 'greater', 'greaterOrEqual', 'lessOrEqual', 'and', 'not', 'sign', 'stopGradient', 'random'] as const;

export type DifferentiableOpKind = (typeof DIFFERENTIABLE_OPS)[number];
export type NonDifferentiableOpKind = (typeof NON_DIFFERENTIABLE_OPS)[number];
/** The `op` of a taped record (`OpRecord.op`). */
export type OpKind = DifferentiableOpKind | NonDifferentiableOpKind;

const NON_DIFFERENTIABLE: ReadonlySet<OpKind> = new Set(NON_DIFFERENTIABLE_OPS);

/** Whether autodiff differentiates through ops of this kind. */
export function isDifferentiable(op: OpKind): op is DifferentiableOpKind {
  return !NON_DIFFERENTIABLE.has(op);
}
