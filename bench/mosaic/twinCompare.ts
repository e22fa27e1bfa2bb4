/**
 * How tessera's MOSAIC step is compared with its PyTorch twin, and the float32 tolerances. Used by
 * twinCheck.ts (full tensors against a fresh PyTorch run) and test/mosaic/twin.test.ts (against
 * the committed summary in test/mosaic/fixtures/twin-reference.json).
 */
import type { Tensor } from '../../kernels/index.ts';

/**
 * float32 tolerances. Worst measured over `small` at K = 3, 4 (batch 2) and 6 (batch 4) from the
 * bundled weights and K = 2 from a Trainer initialisation: loss terms 8e-6 relative, gradients
 * 1.1e-5 of their tensor's largest entry, updates 4e-3, parameters 0.64·lr (docs/kernels.md). Loss terms
 * are sums over ~10⁵ terms in different orders (ORT vs OpenBLAS); single gradient entries are
 * judged against their tensor's largest entry. Parameters after AdamW steps are judged in absolute terms
 * against the learning rate: an Adam update is ≈ lr·g/|g|, so an entry whose gradient is at the
 * float noise level may move by up to 2·lr differently on the two sides, which says nothing about
 * the step; the update's overall relative L2 difference shows that such entries are rare.
 */
export const TWIN_TOLERANCE = {
  /** |a − b| / |b| of loss, diffusion, SCAL, MDL and the gradient norm, per step. */
  scalar: 5e-5,
  /**
   * The gradient norm before clipping: tessera sums ~1.3·10⁶ squares in one float32 ReduceSum
   * inside the step graph (measured 2e-4 off the float64 norm of its own gradients), PyTorch
   * takes the norm of per-tensor norms.
   */
  gradNorm: 1e-3,
  /** max |a − b| / max |b| over one gradient tensor. */
  grad: 1e-4,
  /** ‖Δa − Δb‖ / ‖Δb‖ of one tensor's update after the steps (Δ = params − initial params). */
  update: 2e-2,
  /** max |a − b| of parameters after the steps, in units of the learning rate. */
  paramLr: 2,
} as const;

export const relDiff = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

/** max |a − b| / max |b| (0 when both are all zero, Infinity when only b is). */
export function scaledMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`scaledMaxDiff: lengths ${a.length} and ${b.length} differ`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num === 0 ? 0 : den === 0 ? Infinity : num / den;
}

/**
 * Entries whose gradient is zero analytically, so both sides hold only float noise (~1e-9) there,
 * which AdamW's g/√v turns into updates of up to ±lr per step: the key part of each block's QKV
 * bias (q·(k + b) shifts a whole row of scores by q·b, and softmax ignores shifts).
 */
export function noiseRange(name: string, width: number): [number, number] | null {
  return /^block\d+\.attn\.bqkv$/.test(name) ? [width, 2 * width] : null;
}

const outside = (i: number, skip: readonly [number, number] | null) => !skip || i < skip[0] || i >= skip[1];

/** ‖(a − a0) − (b − b0)‖ / ‖b − b0‖ over the entries outside `skip`: how differently two runs moved one tensor (0 when neither moved). */
export function updateDiff(a: ArrayLike<number>, b: ArrayLike<number>, start: ArrayLike<number>, skip: readonly [number, number] | null = null): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    if (!outside(i, skip)) continue;
    num += (a[i]! - b[i]!) ** 2;
    den += (b[i]! - start[i]!) ** 2;
  }
  return num === 0 ? 0 : den === 0 ? Infinity : Math.sqrt(num / den);
}

/** max |a − b| over the entries inside (`inside` true) or outside `skip`. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, skip: readonly [number, number] | null = null, inside = false): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) if (outside(i, skip) !== inside) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const l2 = (a: ArrayLike<number>, skip: readonly [number, number] | null = null): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) if (outside(i, skip)) s += a[i]! * a[i]!;
  return Math.sqrt(s);
};

/** Per tensor: what the committed reference keeps of PyTorch's gradients and updated parameters. */
export interface TensorSummary {
  gradMaxAbs: number;
  gradNorm: number;
  /** Updated parameter values at {@link sampleIndices}, and the update's L2 norm. */
  paramAt: number[];
  updateNorm: number;
  /** Gradient entries at {@link sampleIndices}. */
  gradAt: number[];
}

export interface TwinReference {
  note: string;
  torch: string;
  case: { preset: string; k: number; batch: number; seed: number; weights: string; steps: number };
  steps: Record<string, number>[];
  tensors: Record<string, TensorSummary>;
}

/** Four fixed entries spread over a tensor of `size` values, none inside `skip` (deterministic, no RNG). */
export function sampleIndices(size: number, skip: readonly [number, number] | null = null): number[] {
  const spread = [0, Math.floor(size / 3), Math.floor((2 * size) / 3), size - 1];
  return [...new Set(spread.map((i) => (outside(i, skip) ? i : Math.min(skip![1], size - 1))))];
}

/** What the committed reference keeps of PyTorch's run; `width` is the model width (for {@link noiseRange}). */
export function summarize(grads: Record<string, ArrayLike<number>>, params: Record<string, ArrayLike<number>>, start: Record<string, ArrayLike<number>>, width: number): Record<string, TensorSummary> {
  const out: Record<string, TensorSummary> = Object.create(null);
  for (const name of Object.keys(start).sort()) {
    const g = grads[name];
    const p = params[name];
    const s = start[name]!;
    if (!g || !p) throw new Error(`twin: no gradient or updated value for '${name}'`);
    const skip = noiseRange(name, width);
    const idx = sampleIndices(s.length, skip);
    const delta = Float64Array.from(p, (v, i) => v - s[i]!);
    out[name] = { gradMaxAbs: Math.max(...Array.from(g, Math.abs)), gradNorm: l2(g), gradAt: idx.map((i) => g[i]!), paramAt: idx.map((i) => p[i]!), updateNorm: l2(delta, skip) };
  }
  return out;
}

export interface Finding {
  what: string;
  value: number;
  limit: number;
}

/** Compares tessera's per-step numbers with PyTorch's. */
export function compareSteps(ours: readonly Record<string, number>[], theirs: readonly Record<string, number>[]): Finding[] {
  if (ours.length !== theirs.length) throw new Error(`twin: ${ours.length} tessera steps vs ${theirs.length} PyTorch steps`);
  const out: Finding[] = [];
  ours.forEach((row, s) => {
    for (const key of Object.keys(theirs[s]!)) {
      if (row[key] === undefined) throw new Error(`twin: tessera step ${s} has no '${key}'`);
      const limit = key === 'gradNorm' ? TWIN_TOLERANCE.gradNorm : TWIN_TOLERANCE.scalar;
      out.push({ what: `step ${s} ${key} (tessera ${row[key]!.toPrecision(8)}, PyTorch ${theirs[s]![key]!.toPrecision(8)})`, value: relDiff(row[key]!, theirs[s]![key]!), limit });
    }
  });
  return out;
}

/**
 * Full-tensor comparison of one parameter (twinCheck.ts): gradient, update, values after `steps`
 * steps, and the {@link noiseRange} entries against AdamW's bound of 2·lr per step.
 */
export function compareTensor(name: string, width: number, steps: number, lr: number, t: { grad: ArrayLike<number>; start: ArrayLike<number>; param: ArrayLike<number> }, torch: { grad: ArrayLike<number>; param: ArrayLike<number> }): Finding[] {
  const skip = noiseRange(name, width);
  const out: Finding[] = [
    { what: `${name} gradient, max |Δ| / max |g|`, value: scaledMaxDiff(t.grad, torch.grad), limit: TWIN_TOLERANCE.grad },
    { what: `${name} update after ${steps} steps, ‖Δa − Δb‖ / ‖Δb‖`, value: updateDiff(t.param, torch.param, t.start, skip), limit: TWIN_TOLERANCE.update },
    { what: `${name} after ${steps} steps, max |a − b| / lr`, value: maxAbsDiff(t.param, torch.param, skip) / lr, limit: TWIN_TOLERANCE.paramLr },
  ];
  if (skip) out.push({ what: `${name}[${skip[0]}:${skip[1]}] (zero gradient analytically) after ${steps} steps, max |a − b| / lr`, value: maxAbsDiff(t.param, torch.param, skip, true) / lr, limit: 2 * steps });
  return out;
}

/** Compares tessera's gradients and updated parameters with a PyTorch summary (the committed reference). */
export function compareSummary(grads: Record<string, Tensor>, params: Record<string, Tensor>, start: Record<string, Tensor>, ref: Record<string, TensorSummary>, width: number, lr: number): Finding[] {
  const out: Finding[] = [];
  for (const [name, r] of Object.entries(ref)) {
    const g = grads[name]?.data as ArrayLike<number> | undefined;
    const p = params[name]?.data as ArrayLike<number> | undefined;
    const p0 = start[name]?.data as ArrayLike<number> | undefined;
    if (!g || !p || !p0) throw new Error(`twin: tessera has no parameter '${name}'`);
    const skip = noiseRange(name, width);
    const idx = sampleIndices(g.length, skip);
    const gradAt = idx.map((i) => g[i]!);
    out.push({ what: `${name} gradient norm`, value: r.gradNorm === 0 ? l2(g) : relDiff(l2(g), r.gradNorm), limit: TWIN_TOLERANCE.grad });
    out.push({ what: `${name} gradient samples / max |g|`, value: r.gradMaxAbs === 0 ? maxAbsDiff(gradAt, r.gradAt) : maxAbsDiff(gradAt, r.gradAt) / r.gradMaxAbs, limit: TWIN_TOLERANCE.grad });
    const moved = l2(Float64Array.from(p, (v, i) => v - p0[i]!), skip);
    out.push({ what: `${name} update norm`, value: r.updateNorm === 0 ? moved : relDiff(moved, r.updateNorm), limit: TWIN_TOLERANCE.update });
    out.push({ what: `${name} parameter samples after the steps / lr`, value: maxAbsDiff(idx.map((i) => p[i]!), r.paramAt) / lr, limit: TWIN_TOLERANCE.paramLr });
  }
  return out;
}

export const failures = (f: readonly Finding[]): Finding[] => f.filter((x) => !(x.value <= x.limit));
