/**
 * Traced tensor ops. Each checks shapes/dtypes eagerly (TraceError at the caller's line), emits
 * standard ONNX nodes, and records itself on the graph's tape for autodiff. Where the CPU
 * provider lacks a float64 kernel (Erf, Gelu, Conv, ConvTranspose, LayerNormalization) the
 * float64 variant is lowered to equivalent standard ops so finite-difference checks can run in
 * double precision against the same VJP rules.
 */
import type { DType } from '../onnx/OnnxModel.ts';
import { Tensor } from '../runtime/Tensor.ts';
import type { Graph } from './Graph.ts';
import type { OpKind } from './opKinds.ts';
import { Sym, bindSymOps, type Operand } from './Sym.ts';
import { TraceError } from './TraceError.ts';

export type { Operand };

const FLOATS: DType[] = ['float32', 'float64', 'float16'];

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

function graphOf(op: string, xs: Operand[]): Graph {
  let g: Graph | null = null;
  for (const x of xs) {
    if (x instanceof Sym) {
      if (g && x.graph !== g) throw new TraceError(op, `tensors come from different graphs (${x})`);
      g = x.graph;
    } else if (typeof x !== 'number') {
      throw new TraceError(op, `expected a tensor or a number, got ${typeof x}`);
    }
  }
  if (!g) throw new TraceError(op, 'needs at least one tensor operand');
  return g;
}

function lift(g: Graph, x: Operand, dtype: DType): Sym {
  return x instanceof Sym ? x : g.constant(x, dtype);
}

function requireFloat(op: string, ...xs: Sym[]): void {
  for (const x of xs) if (!FLOATS.includes(x.dtype)) throw new TraceError(op, `expects a float tensor, got ${x}`);
}

function sameDType(op: string, a: Sym, b: Sym): void {
  if (a.dtype !== b.dtype) throw new TraceError(op, `dtype mismatch: ${a} vs ${b}`);
}

/** Numpy broadcasting of two shapes, or a TraceError naming both tensors. */
export function broadcastShapes(op: string, a: Sym, b: Sym): number[] {
  const r = Math.max(a.rank, b.rank);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a.shape[a.rank - r + i] ?? 1;
    const db = b.shape[b.rank - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new TraceError(op, `shapes do not broadcast: ${a} vs ${b}`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1)) throw new TraceError(op, `axis ${axis} out of range for rank ${rank}`);
  return a;
}

function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = [...new Set(list.map((a) => normAxis(op, a, rank)))].sort((x, y) => x - y);
  return out;
}

/** Emits a one-node op and tapes it. `extra` inputs (axes, shapes) are not differentiated. */
function prim(
  kind: OpKind,
  onnxType: string,
  inputs: Sym[],
  outputs: { shape: readonly number[]; dtype: DType }[],
  attrs: Record<string, unknown> = {},
  onnxAttrs: Parameters<Graph['node']>[2] = {},
  extra: (Sym | string)[] = [],
): Sym[] {
  const g = inputs[0]!.graph;
  const outs = g.node(onnxType, [...inputs, ...extra], onnxAttrs, outputs);
  g.record(kind, inputs, outs, attrs);
  return outs;
}

// ---------------------------------------------------------------- elementwise binary

function binary(kind: OpKind, onnxType: string, a: Operand, b: Operand, outDType?: DType): Sym {
  const g = graphOf(kind, [a, b]);
  const dt = (a instanceof Sym ? a : (b as Sym)).dtype;
  const A = lift(g, a, dt);
  const B = lift(g, b, dt);
  sameDType(kind, A, B);
  const shape = broadcastShapes(kind, A, B);
  return prim(kind, onnxType, [A, B], [{ shape, dtype: outDType ?? A.dtype }])[0]!;
}

/** Elementwise a + b with broadcasting. */
export const add = (a: Operand, b: Operand): Sym => binary('add', 'Add', a, b);
/** Elementwise a − b with broadcasting. */
export const sub = (a: Operand, b: Operand): Sym => binary('sub', 'Sub', a, b);
/** Elementwise a · b with broadcasting. */
export const mul = (a: Operand, b: Operand): Sym => binary('mul', 'Mul', a, b);
/** Elementwise a / b with broadcasting. */
export const div = (a: Operand, b: Operand): Sym => binary('div', 'Div', a, b);
/** Elementwise a^b (float). */
export const pow = (a: Operand, b: Operand): Sym => binary('pow', 'Pow', a, b);
/** Elementwise maximum. */
export const maximum = (a: Operand, b: Operand): Sym => binary('maximum', 'Max', a, b);
/** Elementwise minimum. */
export const minimum = (a: Operand, b: Operand): Sym => binary('minimum', 'Min', a, b);
/** Elementwise a == b (bool; not differentiable). */
export const equal = (a: Operand, b: Operand): Sym => binary('equal', 'Equal', a, b, 'bool');
/** Elementwise a < b (bool). */
export const less = (a: Operand, b: Operand): Sym => binary('less', 'Less', a, b, 'bool');
/** Elementwise a > b (bool). */
export const greater = (a: Operand, b: Operand): Sym => binary('greater', 'Greater', a, b, 'bool');
/** Elementwise a >= b (bool). */
export const greaterOrEqual = (a: Operand, b: Operand): Sym => binary('greaterOrEqual', 'GreaterOrEqual', a, b, 'bool');
/** Elementwise a <= b (bool). */
export const lessOrEqual = (a: Operand, b: Operand): Sym => binary('lessOrEqual', 'LessOrEqual', a, b, 'bool');
/** Elementwise logical and of bool tensors. */
export const and = (a: Sym, b: Sym): Sym => binary('and', 'And', a, b, 'bool');

// ---------------------------------------------------------------- elementwise unary

function unary(kind: OpKind, onnxType: string, x: Sym, float = true): Sym {
  graphOf(kind, [x]);
  if (float) requireFloat(kind, x);
  return prim(kind, onnxType, [x], [{ shape: x.shape, dtype: x.dtype }])[0]!;
}

export const neg = (x: Sym): Sym => unary('neg', 'Neg', x, false);
export const abs = (x: Sym): Sym => unary('abs', 'Abs', x, false);
export const exp = (x: Sym): Sym => unary('exp', 'Exp', x);
export const log = (x: Sym): Sym => unary('log', 'Log', x);
export const sqrt = (x: Sym): Sym => unary('sqrt', 'Sqrt', x);
export const reciprocal = (x: Sym): Sym => unary('reciprocal', 'Reciprocal', x);
export const tanh = (x: Sym): Sym => unary('tanh', 'Tanh', x);
export const sigmoid = (x: Sym): Sym => unary('sigmoid', 'Sigmoid', x);
export const relu = (x: Sym): Sym => unary('relu', 'Relu', x);
/** Elementwise sine (timestep embeddings). */
export const sin = (x: Sym): Sym => unary('sin', 'Sin', x);
/** Elementwise cosine. */
export const cos = (x: Sym): Sym => unary('cos', 'Cos', x);
/** Sign of x (−1, 0, 1); its gradient is zero. */
export const sign = (x: Sym): Sym => unary('sign', 'Sign', x);
/** Logical not of a bool tensor. */
export const not = (x: Sym): Sym => prim('not', 'Not', [x], [{ shape: x.shape, dtype: 'bool' }])[0]!;

/** 1/√x. */
export const rsqrt = (x: Sym): Sym => reciprocal(sqrt(x));
/** x² (one op whose VJP is 2·x·dy, one pass cheaper than differentiating x·x). */
export function square(x: Sym): Sym {
  graphOf('square', [x]);
  return prim('square', 'Mul', [x], [{ shape: x.shape, dtype: x.dtype }], {}, {}, [x])[0]!;
}
/** SiLU / swish: x·σ(x). */
export const silu = (x: Sym): Sym => mul(x, sigmoid(x));
/** log(1 + eˣ), computed stably as relu(x) + log(1 + e^−|x|). */
export const softplus = (x: Sym): Sym => add(relu(x), log(add(exp(neg(abs(x))), 1)));
/** log σ(x) = −softplus(−x), stable for large |x|. */
export const logSigmoid = (x: Sym): Sym => neg(softplus(neg(x)));

const SQRT_PI = Math.sqrt(Math.PI);

/**
 * erf in float64 from standard ops (the CPU provider has no double Erf): Maclaurin series for
 * |x| < 2.5, Laplace continued fraction of erfc beyond; both accurate to ~1e-14.
 */
function erf64(x: Sym): Sym {
  const g = x.graph;
  const ax = abs(x);
  const z = mul(ax, ax);
  // Series: erf(a) = 2/√π Σ (−1)ⁿ a^(2n+1) / (n!(2n+1)), Horner in z = a².
  const N = 48;
  const coef: number[] = [];
  let fact = 1;
  for (let n = 0; n <= N; n++) {
    if (n > 0) fact *= n;
    coef.push(((n % 2 ? -1 : 1) / (fact * (2 * n + 1))) * (2 / SQRT_PI));
  }
  let s: Sym = g.constant(coef[N]!, x.dtype);
  for (let n = N - 1; n >= 0; n--) s = add(mul(s, z), coef[n]!);
  const series = mul(s, ax);
  // Continued fraction: erfc(a) = e^(−a²)/√π · 1/(a + (1/2)/(a + 1/(a + (3/2)/(a + …)))).
  const big = maximum(ax, 2.5);
  let t: Sym = big;
  for (let k = 60; k >= 1; k--) t = add(big, div(k / 2, t));
  const erfc = div(exp(neg(mul(big, big))), mul(t, SQRT_PI));
  const cf = sub(1, erfc);
  const magnitude = where(less(ax, 2.5), series, cf);
  return mul(magnitude, sign(x));
}

/** Error function (float64 lowered to a series/continued fraction). */
export function erf(x: Sym): Sym {
  graphOf('erf', [x]);
  requireFloat('erf', x);
  if (x.dtype !== 'float64') return unary('erf', 'Erf', x);
  const g = x.graph;
  const y = g.internal(() => erf64(x));
  g.record('erf', [x], [y]);
  return y;
}

/** Exact (erf) GELU: x·Φ(x). One ONNX Gelu node in float32. */
export function gelu(x: Sym): Sym {
  graphOf('gelu', [x]);
  requireFloat('gelu', x);
  if (x.dtype !== 'float64') return prim('gelu', 'Gelu', [x], [{ shape: x.shape, dtype: x.dtype }])[0]!;
  const g = x.graph;
  const y = g.internal(() => mul(mul(x, 0.5), add(erf64(mul(x, Math.SQRT1_2)), 1)));
  g.record('gelu', [x], [y]);
  return y;
}

/** Identity whose gradient is zero: values pass, gradients stop. */
export function stopGradient(x: Sym): Sym {
  graphOf('stopGradient', [x]);
  return prim('stopGradient', 'Identity', [x], [{ shape: x.shape, dtype: x.dtype }])[0]!;
}

/** Clamps to [min, max] (either bound optional). */
export function clip(x: Sym, min?: number, max?: number): Sym {
  const g = graphOf('clip', [x]);
  requireFloat('clip', x);
  const lo = min === undefined ? '' : g.constant(min, x.dtype).name;
  const hi = max === undefined ? '' : g.constant(max, x.dtype).name;
  return prim('clip', 'Clip', [x], [{ shape: x.shape, dtype: x.dtype }], { min, max }, {}, [lo, hi])[0]!;
}

/** Converts element type; float↔float casts are differentiable. */
export function cast(x: Sym, dtype: DType): Sym {
  graphOf('cast', [x]);
  if (x.dtype === dtype) return x;
  const codes: Record<DType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };
  return prim('cast', 'Cast', [x], [{ shape: x.shape, dtype }], { from: x.dtype, to: dtype }, { to: codes[dtype] })[0]!;
}

/** Picks a where cond is true, else b (broadcasting). */
export function where(cond: Sym, a: Operand, b: Operand): Sym {
  const g = graphOf('where', [cond, a, b]);
  if (cond.dtype !== 'bool') throw new TraceError('where', `condition must be bool, got ${cond}`);
  const dt = a instanceof Sym ? a.dtype : b instanceof Sym ? b.dtype : g.dtype;
  const A = lift(g, a, dt);
  const B = lift(g, b, dt);
  sameDType('where', A, B);
  const ab = broadcastShapes('where', A, B);
  const shape = broadcastShapes('where', cond, new Sym(g, 'broadcast', ab, dt));
  const outs = g.node('Where', [cond, A, B], {}, [{ shape, dtype: dt }]);
  g.record('where', [A, B], outs, { cond });
  return outs[0]!;
}

// ---------------------------------------------------------------- linear algebra

/** Batched matrix product with numpy semantics (both operands rank ≥ 2, batch dims broadcast). */
export function matmul(a: Sym, b: Sym): Sym {
  graphOf('matmul', [a, b]);
  sameDType('matmul', a, b);
  if (a.rank < 2 || b.rank < 2) throw new TraceError('matmul', `operands must have rank ≥ 2, got ${a} and ${b}`);
  const k1 = a.shape[a.rank - 1]!;
  const k2 = b.shape[b.rank - 2]!;
  if (k1 !== k2) throw new TraceError('matmul', `inner dimensions differ: ${a} · ${b} (${k1} vs ${k2})`);
  const g = a.graph;
  const batch = broadcastShapes('matmul', new Sym(g, a.name, a.shape.slice(0, -2), a.dtype), new Sym(g, b.name, b.shape.slice(0, -2), b.dtype));
  const shape = [...batch, a.shape[a.rank - 2]!, b.shape[b.rank - 1]!];
  return prim('matmul', 'MatMul', [a, b], [{ shape, dtype: a.dtype }])[0]!;
}

export interface GemmOptions {
  alpha?: number;
  beta?: number;
  transA?: boolean;
  transB?: boolean;
}

/** 2-D α·op(A)·op(B) + β·C (ONNX Gemm); C broadcasts to the result. */
export function gemm(a: Sym, b: Sym, c?: Sym, o: GemmOptions = {}): Sym {
  graphOf('gemm', c ? [a, b, c] : [a, b]);
  sameDType('gemm', a, b);
  if (a.rank !== 2 || b.rank !== 2) throw new TraceError('gemm', `operands must be 2-D, got ${a} and ${b}`);
  const [m, k1] = o.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [k2, n] = o.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (k1 !== k2) throw new TraceError('gemm', `inner dimensions differ: ${a}${o.transA ? 'ᵀ' : ''} · ${b}${o.transB ? 'ᵀ' : ''}`);
  const g = a.graph;
  if (c) {
    sameDType('gemm', a, c);
    const s = broadcastShapes('gemm', new Sym(g, 'result', [m, n], a.dtype), c);
    if (s[0] !== m || s[1] !== n) throw new TraceError('gemm', `bias ${c} does not broadcast to [${m}, ${n}]`);
  }
  const attrs = { alpha: o.alpha ?? 1, beta: o.beta ?? 1, transA: !!o.transA, transB: !!o.transB };
  return prim(
    'gemm',
    'Gemm',
    c ? [a, b, c] : [a, b],
    [{ shape: [m, n], dtype: a.dtype }],
    attrs,
    { alpha: { f: attrs.alpha }, beta: { f: attrs.beta }, transA: attrs.transA ? 1 : 0, transB: attrs.transB ? 1 : 0 },
  )[0]!;
}

/**
 * Affine layer x·W + b over the last axis for any leading dims, as one Gemm on the flattened
 * rows (Gemm folds bias and scale; batched MatMul + Add would be two passes).
 */
export function linear(x: Sym, w: Sym, b?: Sym): Sym {
  graphOf('linear', b ? [x, w, b] : [x, w]);
  if (w.rank !== 2) throw new TraceError('linear', `weight must be 2-D [in, out], got ${w}`);
  if (x.shape[x.rank - 1] !== w.shape[0]) throw new TraceError('linear', `input ${x} does not match weight ${w}`);
  if (b && (b.rank !== 1 || b.shape[0] !== w.shape[1])) throw new TraceError('linear', `bias ${b} must be [${w.shape[1]}]`);
  const lead = x.shape.slice(0, -1);
  const rows = lead.reduce((p, q) => p * q, 1);
  const x2 = x.rank === 2 ? x : reshape(x, [rows, w.shape[0]!]);
  const y = gemm(x2, w, b);
  return x.rank === 2 ? y : reshape(y, [...lead, w.shape[1]!]);
}

// ---------------------------------------------------------------- reductions

function reduce(kind: OpKind, onnxType: string, x: Sym, axes: number | readonly number[] | undefined, keepdims: boolean): Sym {
  const g = graphOf(kind, [x]);
  const ax = normAxes(kind, axes, x.rank);
  const shape = x.shape.flatMap((d, i) => (ax.includes(i) ? (keepdims ? [1] : []) : [d]));
  if (ax.length === 0) return x;
  return prim(kind, onnxType, [x], [{ shape, dtype: x.dtype }], { axes: ax, keepdims }, { keepdims: keepdims ? 1 : 0 }, [g.ints(ax)])[0]!;
}

/** Sum over `axes` (all when omitted). */
export const sum = (x: Sym, axes?: number | readonly number[], keepdims = false): Sym => reduce('sum', 'ReduceSum', x, axes, keepdims);
/** Mean over `axes` (all when omitted). */
export const mean = (x: Sym, axes?: number | readonly number[], keepdims = false): Sym => reduce('mean', 'ReduceMean', x, axes, keepdims);
/** Max over `axes`; ties share the gradient equally. */
export const max = (x: Sym, axes?: number | readonly number[], keepdims = false): Sym => reduce('max', 'ReduceMax', x, axes, keepdims);

/** Softmax along one axis. */
export function softmax(x: Sym, axis = -1): Sym {
  graphOf('softmax', [x]);
  requireFloat('softmax', x);
  const a = normAxis('softmax', axis, x.rank);
  return prim('softmax', 'Softmax', [x], [{ shape: x.shape, dtype: x.dtype }], { axis: a }, { axis: a })[0]!;
}

/** Log-softmax along one axis. */
export function logSoftmax(x: Sym, axis = -1): Sym {
  graphOf('logSoftmax', [x]);
  requireFloat('logSoftmax', x);
  const a = normAxis('logSoftmax', axis, x.rank);
  return prim('logSoftmax', 'LogSoftmax', [x], [{ shape: x.shape, dtype: x.dtype }], { axis: a }, { axis: a })[0]!;
}

// ---------------------------------------------------------------- shape ops

/** Reshape; one dim may be −1. */
export function reshape(x: Sym, shape: readonly number[]): Sym {
  const g = graphOf('reshape', [x]);
  const known = shape.filter((d) => d !== -1).reduce((p, q) => p * q, 1);
  const holes = shape.filter((d) => d === -1).length;
  if (holes > 1 || shape.some((d) => !Number.isInteger(d) || d < -1)) throw new TraceError('reshape', `invalid target shape ${fmt(shape)}`);
  const out = shape.map((d) => (d === -1 ? (known === 0 ? 0 : x.size / known) : d));
  if (!out.every(Number.isInteger) || out.reduce((p, q) => p * q, 1) !== x.size) {
    throw new TraceError('reshape', `cannot reshape ${x} (${x.size} elements) to ${fmt(shape)}`);
  }
  if (out.length === x.rank && out.every((d, i) => d === x.shape[i])) return x;
  return prim('reshape', 'Reshape', [x], [{ shape: out, dtype: x.dtype }], {}, {}, [g.ints(out)])[0]!;
}

/** Permutes axes (reverses them when `perm` is omitted). */
export function transpose(x: Sym, perm?: readonly number[]): Sym {
  graphOf('transpose', [x]);
  const p = perm ? [...perm] : x.shape.map((_, i) => x.rank - 1 - i);
  const sorted = [...p].sort((a, b) => a - b);
  if (p.length !== x.rank || sorted.some((v, i) => v !== i)) throw new TraceError('transpose', `perm ${fmt(p)} is not a permutation of ${x.rank} axes for ${x}`);
  if (p.every((v, i) => v === i)) return x;
  return prim('transpose', 'Transpose', [x], [{ shape: p.map((i) => x.shape[i]!), dtype: x.dtype }], { perm: p }, { perm: p })[0]!;
}

/** Concatenates along `axis`. */
export function concat(xs: readonly Sym[], axis: number): Sym {
  if (xs.length === 0) throw new TraceError('concat', 'needs at least one tensor');
  graphOf('concat', [...xs]);
  const first = xs[0]!;
  const a = normAxis('concat', axis, first.rank);
  let total = 0;
  for (const x of xs) {
    sameDType('concat', first, x);
    if (x.rank !== first.rank || x.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new TraceError('concat', `shapes differ off axis ${a}: ${first} vs ${x}`);
    }
    total += x.shape[a]!;
  }
  if (xs.length === 1) return first;
  const shape = first.shape.map((d, i) => (i === a ? total : d));
  return prim('concat', 'Concat', [...xs], [{ shape, dtype: first.dtype }], { axis: a }, { axis: a })[0]!;
}

/** Splits along `axis` into pieces of the given sizes. */
export function split(x: Sym, sizes: readonly number[], axis: number): Sym[] {
  const g = graphOf('split', [x]);
  const a = normAxis('split', axis, x.rank);
  if (sizes.reduce((p, q) => p + q, 0) !== x.shape[a] || sizes.some((s) => s <= 0)) {
    throw new TraceError('split', `sizes ${fmt(sizes)} do not add up to dim ${x.shape[a]} of ${x}`);
  }
  const outs = sizes.map((s) => ({ shape: x.shape.map((d, i) => (i === a ? s : d)), dtype: x.dtype }));
  return prim('split', 'Split', [x], outs, { axis: a, sizes: [...sizes] }, { axis: a }, [g.ints(sizes)]);
}

/** Slices `[starts, ends)` with optional steps along `axes` (default: the first len(starts) axes). */
export function slice(x: Sym, starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): Sym {
  const g = graphOf('slice', [x]);
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis('slice', a, x.rank));
  const st = steps ?? starts.map(() => 1);
  if (starts.length !== ax.length || ends.length !== ax.length || st.length !== ax.length) {
    throw new TraceError('slice', 'starts, ends, axes and steps must have equal lengths');
  }
  // Negative steps (x[::-1]) become a gather of the host-computed indices, whose VJP already
  // scatters back; the positive-step axes stay one Slice.
  if (st.some((v) => v < 0)) {
    const pos = ax.flatMap((a, i) => (st[i]! > 0 ? [i] : []));
    let y = pos.length
      ? slice(
          x,
          pos.map((i) => starts[i]!),
          pos.map((i) => ends[i]!),
          pos.map((i) => ax[i]!),
          pos.map((i) => st[i]!),
        )
      : x;
    ax.forEach((a, i) => {
      if (st[i]! < 0) y = gather(y, reversedIndices(x.shape[a]!, starts[i]!, ends[i]!, st[i]!), a);
    });
    return y;
  }
  const shape = [...x.shape];
  const s0: number[] = [];
  const e0: number[] = [];
  ax.forEach((a, i) => {
    const d = x.shape[a]!;
    const step = st[i]!;
    if (!Number.isInteger(step) || step === 0) throw new TraceError('slice', `steps must be non-zero integers, got ${step}`);
    if (step < 0) return;
    const clampIdx = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    const s = clampIdx(starts[i]!);
    const e = clampIdx(ends[i]!);
    s0.push(s);
    e0.push(e);
    shape[a] = Math.max(0, Math.ceil((e - s) / step));
  });
  return prim('slice', 'Slice', [x], [{ shape, dtype: x.dtype }], { starts: s0, ends: e0, axes: ax, steps: [...st] }, {}, [
    g.ints(s0),
    g.ints(e0),
    g.ints(ax),
    g.ints(st),
  ])[0]!;
}

/** Indices a negative-step ONNX Slice visits: start clamps to [0, d−1], end to [−1, d−1]. */
function reversedIndices(d: number, start: number, end: number, step: number): number[] {
  const s = Math.min(Math.max(start < 0 ? start + d : start, 0), d - 1);
  const e = Math.min(Math.max(end < 0 ? end + d : end, -1), d - 1);
  const out: number[] = [];
  for (let i = s; i > e; i += step) out.push(i);
  return out;
}

/** Takes entries along `axis` at integer `indices` (a constant list or an int64 tensor). */
export function gather(x: Sym, indices: Sym | readonly number[], axis = 0): Sym {
  const g = graphOf('gather', [x]);
  const a = normAxis('gather', axis, x.rank);
  let idx: Sym;
  if (indices instanceof Sym) {
    if (indices.dtype !== 'int64' && indices.dtype !== 'int32') throw new TraceError('gather', `indices must be int64, got ${indices}`);
    idx = indices;
  } else {
    const d = x.shape[a]!;
    for (const i of indices) if (!Number.isInteger(i) || i < -d || i >= d) throw new TraceError('gather', `index ${i} out of range for axis ${a} of ${x}`);
    idx = g.ints(indices);
  }
  const shape = [...x.shape.slice(0, a), ...idx.shape, ...x.shape.slice(a + 1)];
  const outs = g.node('Gather', [x, idx], { axis: a }, [{ shape, dtype: x.dtype }]);
  g.record('gather', [x], outs, { axis: a, indices: idx });
  return outs[0]!;
}

/** Broadcasts to `shape` (numpy rules). */
export function expand(x: Sym, shape: readonly number[]): Sym {
  const g = graphOf('expand', [x]);
  const target = new Sym(g, 'target', shape, x.dtype);
  const out = broadcastShapes('expand', x, target);
  if (out.length === x.rank && out.every((d, i) => d === x.shape[i])) return x;
  return prim('expand', 'Expand', [x], [{ shape: out, dtype: x.dtype }], {}, {}, [g.ints(shape)])[0]!;
}

/** Constant padding; `pads` = [before_0, …, before_n, after_0, …, after_n] (ONNX order), non-negative. */
export function pad(x: Sym, pads: readonly number[], value = 0): Sym {
  const g = graphOf('pad', [x]);
  if (pads.length !== 2 * x.rank || pads.some((p) => !Number.isInteger(p) || p < 0)) {
    throw new TraceError('pad', `pads ${fmt(pads)} must hold ${2 * x.rank} non-negative ints for ${x}`);
  }
  const shape = x.shape.map((d, i) => d + pads[i]! + pads[i + x.rank]!);
  return prim('pad', 'Pad', [x], [{ shape, dtype: x.dtype }], { pads: [...pads] }, { mode: 'constant' }, [g.ints(pads), g.constant(value, x.dtype)])[0]!;
}

/** Zeros of a shape (a constant). */
export function zeros(g: Graph, shape: readonly number[], dtype: DType = g.dtype): Sym {
  return g.constant(Tensor.zeros(shape, dtype));
}

// ---------------------------------------------------------------- normalisation

/**
 * Layer normalisation over the trailing axes from `axis`: (x − μ)/√(σ² + ε)·γ + β. Float32 uses
 * one LayerNormalization node whose saved mean and 1/σ feed the backward pass.
 */
export function layerNorm(x: Sym, gamma: Sym, beta: Sym | null, eps = 1e-5, axis = -1): Sym {
  const g = graphOf('layerNorm', beta ? [x, gamma, beta] : [x, gamma]);
  requireFloat('layerNorm', x);
  const a = normAxis('layerNorm', axis, x.rank);
  const normShape = x.shape.slice(a);
  for (const p of beta ? [gamma, beta] : [gamma]) {
    sameDType('layerNorm', x, p);
    if (p.rank !== normShape.length || p.shape.some((d, i) => d !== normShape[i])) {
      throw new TraceError('layerNorm', `${p} must have shape ${fmt(normShape)} to normalise ${x} from axis ${a}`);
    }
  }
  const statShape = x.shape.map((d, i) => (i >= a ? 1 : d));
  const axes = normShape.map((_, i) => a + i);
  let outs: Sym[];
  if (x.dtype === 'float32') {
    outs = g.node('LayerNormalization', beta ? [x, gamma, beta] : [x, gamma], { axis: a, epsilon: { f: eps }, stash_type: 1 }, [
      { shape: x.shape, dtype: x.dtype },
      { shape: statShape, dtype: 'float32' },
      { shape: statShape, dtype: 'float32' },
    ]);
  } else {
    outs = g.internal(() => {
      const mu = mean(x, axes, true);
      const d = sub(x, mu);
      const inv = rsqrt(add(mean(mul(d, d), axes, true), eps));
      const yy = mul(mul(d, inv), gamma);
      return [beta ? add(yy, beta) : yy, mu, inv];
    });
  }
  g.record('layerNorm', beta ? [x, gamma, beta] : [x, gamma], outs, { axis: a, axes, eps });
  return outs[0]!;
}

// ---------------------------------------------------------------- convolution

export interface ConvOptions {
  stride?: number;
  pad?: number;
}

function convOut(op: string, d: number, k: number, s: number, p: number): number {
  const o = Math.floor((d + 2 * p - k) / s) + 1;
  if (o <= 0) throw new TraceError(op, `kernel ${k} with stride ${s}, pad ${p} does not fit input size ${d}`);
  return o;
}

/** float64 Conv from Pad + strided Slice + MatMul per kernel offset (no double Conv on CPU). */
function conv2d64(x: Sym, w: Sym, s: number, p: number, ho: number, wo: number): Sym {
  const [n, c, ,] = x.shape as number[];
  const [o, , kh, kw] = w.shape as number[];
  const xp = p > 0 ? pad(x, [0, 0, p, p, 0, 0, p, p]) : x;
  let acc: Sym | null = null;
  for (let i = 0; i < kh!; i++) {
    for (let j = 0; j < kw!; j++) {
      const patch = slice(xp, [i, j], [i + (ho - 1) * s + 1, j + (wo - 1) * s + 1], [2, 3], [s, s]);
      const wk = reshape(slice(w, [i, j], [i + 1, j + 1], [2, 3]), [o!, c!]);
      const term = matmul(wk, reshape(patch, [n!, c!, ho * wo]));
      acc = acc ? add(acc, term) : term;
    }
  }
  return reshape(acc!, [n!, o!, ho, wo]);
}

/** float64 ConvTranspose: each kernel offset's contribution dilated by the stride and summed. */
function convTranspose64(x: Sym, w: Sym, s: number, p: number): Sym {
  const [n, c, h, wd] = x.shape as number[];
  const [, o, kh, kw] = w.shape as number[];
  const fullH = (h! - 1) * s + kh!;
  const fullW = (wd! - 1) * s + kw!;
  let acc: Sym | null = null;
  for (let i = 0; i < kh!; i++) {
    for (let j = 0; j < kw!; j++) {
      const wk = transpose(reshape(slice(w, [i, j], [i + 1, j + 1], [2, 3]), [c!, o!]), [1, 0]);
      let z = reshape(matmul(wk, reshape(x, [n!, c!, h! * wd!])), [n!, o!, h!, 1, wd!, 1]);
      if (s > 1) z = pad(z, [0, 0, 0, 0, 0, 0, 0, 0, 0, s - 1, 0, s - 1]);
      z = reshape(z, [n!, o!, h! * s, wd! * s]);
      z = slice(z, [0, 0], [(h! - 1) * s + 1, (wd! - 1) * s + 1], [2, 3]);
      z = pad(z, [0, 0, i, j, 0, 0, kh! - 1 - i, kw! - 1 - j]);
      acc = acc ? add(acc, z) : z;
    }
  }
  return p > 0 ? slice(acc!, [p, p], [fullH - p, fullW - p], [2, 3]) : acc!;
}

/**
 * 2-D convolution, NCHW input, weight [out, in, kh, kw], square stride and symmetric padding
 * (patch embedding is `conv2d(img, W, b, { stride: patch })`).
 */
export function conv2d(x: Sym, w: Sym, b?: Sym, o: ConvOptions = {}): Sym {
  const g = graphOf('conv2d', b ? [x, w, b] : [x, w]);
  sameDType('conv2d', x, w);
  if (x.rank !== 4 || w.rank !== 4) throw new TraceError('conv2d', `expects NCHW input and [out, in, kh, kw] weight, got ${x} and ${w}`);
  if (x.shape[1] !== w.shape[1]) throw new TraceError('conv2d', `input channels ${x.shape[1]} ≠ weight in-channels ${w.shape[1]} (${x}, ${w})`);
  if (b && (b.rank !== 1 || b.shape[0] !== w.shape[0])) throw new TraceError('conv2d', `bias ${b} must be [${w.shape[0]}]`);
  const s = o.stride ?? 1;
  const p = o.pad ?? 0;
  const ho = convOut('conv2d', x.shape[2]!, w.shape[2]!, s, p);
  const wo = convOut('conv2d', x.shape[3]!, w.shape[3]!, s, p);
  const shape = [x.shape[0]!, w.shape[0]!, ho, wo];
  let y: Sym;
  if (x.dtype === 'float64') {
    y = g.internal(() => {
      const c = conv2d64(x, w, s, p, ho, wo);
      return b ? add(c, reshape(b, [1, w.shape[0]!, 1, 1])) : c;
    });
  } else {
    y = g.node('Conv', b ? [x, w, b] : [x, w], { strides: [s, s], pads: [p, p, p, p] }, [{ shape, dtype: x.dtype }])[0]!;
  }
  g.record('conv2d', b ? [x, w, b] : [x, w], [y], { stride: s, pad: p });
  return y;
}

/** Transposed 2-D convolution, weight [in, out, kh, kw] (the adjoint of `conv2d`). */
export function convTranspose2d(x: Sym, w: Sym, b?: Sym, o: ConvOptions = {}): Sym {
  const g = graphOf('convTranspose2d', b ? [x, w, b] : [x, w]);
  sameDType('convTranspose2d', x, w);
  if (x.rank !== 4 || w.rank !== 4) throw new TraceError('convTranspose2d', `expects NCHW input and [in, out, kh, kw] weight, got ${x} and ${w}`);
  if (x.shape[1] !== w.shape[0]) throw new TraceError('convTranspose2d', `input channels ${x.shape[1]} ≠ weight in-channels ${w.shape[0]} (${x}, ${w})`);
  if (b && (b.rank !== 1 || b.shape[0] !== w.shape[1])) throw new TraceError('convTranspose2d', `bias ${b} must be [${w.shape[1]}]`);
  const s = o.stride ?? 1;
  const p = o.pad ?? 0;
  const ho = (x.shape[2]! - 1) * s + w.shape[2]! - 2 * p;
  const wo = (x.shape[3]! - 1) * s + w.shape[3]! - 2 * p;
  if (ho <= 0 || wo <= 0) throw new TraceError('convTranspose2d', `padding ${p} leaves no output for ${x}`);
  const shape = [x.shape[0]!, w.shape[1]!, ho, wo];
  let y: Sym;
  if (x.dtype === 'float64') {
    y = g.internal(() => {
      const c = convTranspose64(x, w, s, p);
      return b ? add(c, reshape(b, [1, w.shape[1]!, 1, 1])) : c;
    });
  } else {
    y = g.node('ConvTranspose', b ? [x, w, b] : [x, w], { strides: [s, s], pads: [p, p, p, p] }, [{ shape, dtype: x.dtype }])[0]!;
  }
  g.record('convTranspose2d', b ? [x, w, b] : [x, w], [y], { stride: s, pad: p });
  return y;
}

// ---------------------------------------------------------------- randomness

const MOD = 2147483647; // 2^31 − 1: products of two residues stay inside int64.

/** Counter-based hash of (seed, stream, index) → int64 in [0, MOD), from integer standard ops. */
function hashStream(g: Graph, n: number, stream: number): Sym {
  const seed = g.seed();
  const i64 = (v: number) => g.constant(Tensor.scalar(v, 'int64'));
  const ns = (type: string, ins: (Sym | string)[], shape: readonly number[]) => g.node(type, ins, {}, [{ shape, dtype: 'int64' }])[0]!;
  const idx = g.node('Range', [i64(0), i64(n), i64(1)], {}, [{ shape: [n], dtype: 'int64' }])[0]!;
  const s0 = ns('Mod', [ns('Add', [ns('Mod', [seed, i64(MOD)], []), i64((stream * 7919) % MOD)], []), i64(MOD)], []);
  let h = ns('Mod', [ns('Add', [ns('Mul', [idx, i64(40503)], [n]), ns('Mul', [s0, i64(1000003)], [])], [n]), i64(MOD)], [n]);
  for (const mult of [48271, 69621, 16807, 48271]) {
    h = ns('Mod', [ns('Add', [ns('Mul', [h, i64(mult)], [n]), i64(12345)], [n]), i64(MOD)], [n]);
    h = ns('BitwiseXor', [h, ns('Div', [h, i64(65536)], [n])], [n]);
  }
  return h;
}

function uniformFlat(g: Graph, n: number, stream: number, dtype: DType): Sym {
  const h = hashStream(g, n, stream);
  const f = g.node('Cast', [h], { to: dtype === 'float64' ? 11 : 1 }, [{ shape: [n], dtype }])[0]!;
  // (h + 0.5)/2^31 lies strictly inside (0, 1), so log(u) in Box–Muller stays finite.
  const num = g.node('Add', [f, g.constant(0.5, dtype)], {}, [{ shape: [n], dtype }])[0]!;
  return g.node('Div', [num, g.constant(2 ** 31, dtype)], {}, [{ shape: [n], dtype }])[0]!;
}

/**
 * Uniform noise in (lo, hi) computed inside the graph from the graph's int64 'seed' input, so a
 * training step draws fresh noise each call while equal seeds reproduce it exactly.
 */
export function randomUniform(g: Graph, shape: readonly number[], lo = 0, hi = 1, dtype: DType = g.dtype): Sym {
  const n = shape.reduce((a, b) => a * b, 1);
  const stream = g.nextRandomStream();
  const u = g.internal(() => {
    const flat = uniformFlat(g, n, stream, dtype);
    const scaled = g.node('Add', [g.node('Mul', [flat, g.constant(hi - lo, dtype)], {}, [{ shape: [n], dtype }])[0]!, g.constant(lo, dtype)], {}, [{ shape: [n], dtype }])[0]!;
    return reshape(scaled, shape);
  });
  g.record('random', [], [u]);
  return u;
}

/** Standard-normal noise (Box–Muller over two hash streams) driven by the graph's 'seed' input. */
export function randomNormal(g: Graph, shape: readonly number[], meanValue = 0, std = 1, dtype: DType = g.dtype): Sym {
  const n = shape.reduce((a, b) => a * b, 1);
  const stream = g.nextRandomStream();
  const z = g.internal(() => {
    const u1 = uniformFlat(g, n, 2 * stream, dtype);
    const u2 = uniformFlat(g, n, 2 * stream + 1, dtype);
    const r = sqrt(mul(log(u1), -2));
    const c = g.node('Cos', [mul(u2, 2 * Math.PI)], {}, [{ shape: [n], dtype }])[0]!;
    return reshape(add(mul(mul(r, c), std), meanValue), shape);
  });
  g.record('random', [], [z]);
  return z;
}

// Sym's method shorthands (x.add(y), x.T, …) call these; injected so Sym.ts need not import this file.
bindSymOps({ add, sub, mul, div, pow, neg, abs, exp, log, sqrt, rsqrt, square, tanh, sigmoid, relu, gelu, silu, matmul, sum, mean, max, softmax, logSoftmax, reshape, transpose, cast, clip });
