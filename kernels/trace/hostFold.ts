/**
 * Host-side evaluation of the small integer subgraphs PyTorch exports to compute shapes
 * (Shape → Gather → Unsqueeze → Concat → Reshape, ConstantOfShape → Equal → Where → Expand, …).
 * Every traced tensor has a static shape, so these subgraphs are constants at import time; folding
 * them lets reshapes with "computed" targets import. Pure: no graph, no tensors on a device.
 */
import { CODE_DTYPE, type AnyTypedArray, type DType, type OnnxAttribute, type OnnxNode, type OnnxTensor } from '../onnx/OnnxModel.ts';

/** A constant known on the host, values as JS numbers (shapes fit a double exactly). */
export interface HostValue {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: readonly number[];
}

/** What the folder may ask about a node's inputs. */
export interface FoldInputs {
  /** The constant value of a tensor, or undefined when it is only known at run time. */
  value(name: string): HostValue | undefined;
  /** The static shape of any tensor (traced or constant), or undefined when unknown. */
  shape(name: string): readonly number[] | undefined;
}

const FLOAT: ReadonlySet<DType> = new Set(['float32', 'float64', 'float16']);
const MAX_HOST_ELEMENTS = 4096;
const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

function attr(n: OnnxNode, name: string): OnnxAttribute['value'] | undefined {
  return n.attributes.find((a) => a.name === name)?.value;
}

/** Reads an ONNX constant into a HostValue (float16 payloads are not decoded: undefined). */
export function hostValueOf(t: OnnxTensor): HostValue | undefined {
  if (t.dtype === 'float16') return undefined;
  return { dtype: t.dtype, dims: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint>, Number) };
}

/** Writes a HostValue back as an ONNX constant tensor. */
export function onnxTensorOf(name: string, v: HostValue): OnnxTensor {
  let data: AnyTypedArray;
  if (v.dtype === 'int64') data = BigInt64Array.from(v.data, (x) => BigInt(Math.trunc(x)));
  else if (v.dtype === 'int32') data = Int32Array.from(v.data);
  else if (v.dtype === 'float32') data = Float32Array.from(v.data);
  else if (v.dtype === 'float64') data = Float64Array.from(v.data);
  else if (v.dtype === 'int8') data = Int8Array.from(v.data);
  else data = Uint8Array.from(v.data);
  return { name, dtype: v.dtype, dims: [...v.dims], data };
}

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

/** Numpy broadcasting over any number of host values. */
function broadcast(vs: readonly HostValue[], dtype: DType, f: (xs: number[]) => number): HostValue {
  const r = Math.max(...vs.map((v) => v.dims.length));
  const dims: number[] = [];
  for (let i = 0; i < r; i++) {
    let d = 1;
    for (const v of vs) {
      const e = v.dims[v.dims.length - r + i] ?? 1;
      if (e !== 1 && d !== 1 && e !== d) throw new Error(`shapes [${vs.map((x) => x.dims.join(', ')).join('] vs [')}] do not broadcast`);
      if (e !== 1) d = e;
    }
    dims.push(d);
  }
  const os = strides(dims);
  const ins = vs.map((v) => {
    const s = strides(v.dims);
    return dims.map((_, i) => {
      const k = i - (r - v.dims.length);
      return k < 0 || v.dims[k] === 1 ? 0 : s[k]!;
    });
  });
  const data: number[] = [];
  for (let flat = 0; flat < size(dims); flat++) {
    const xs = vs.map((v, j) => {
      let off = 0;
      let rem = flat;
      for (let i = 0; i < r; i++) {
        const idx = Math.floor(rem / os[i]!);
        rem -= idx * os[i]!;
        off += idx * ins[j]![i]!;
      }
      return v.data[off]!;
    });
    data.push(f(xs));
  }
  return { dtype, dims, data };
}

function gatherHost(x: HostValue, idx: HostValue, axis: number): HostValue {
  const a = axis < 0 ? axis + x.dims.length : axis;
  const pre = size(x.dims.slice(0, a));
  const d = x.dims[a]!;
  const post = size(x.dims.slice(a + 1));
  const data: number[] = [];
  for (let p = 0; p < pre; p++) {
    for (const raw of idx.data) {
      const i = raw < 0 ? raw + d : raw;
      if (i < 0 || i >= d) throw new Error(`index ${raw} out of range for size ${d}`);
      for (let q = 0; q < post; q++) data.push(x.data[(p * d + i) * post + q]!);
    }
  }
  return { dtype: x.dtype, dims: [...x.dims.slice(0, a), ...idx.dims, ...x.dims.slice(a + 1)], data };
}

const ELEMENTWISE: Readonly<Record<string, (xs: number[], integer: boolean) => number>> = {
  Add: ([a, b]) => a! + b!,
  Sub: ([a, b]) => a! - b!,
  Mul: ([a, b]) => a! * b!,
  // ONNX integer Div truncates toward zero (C semantics).
  Div: ([a, b], integer) => (integer ? Math.trunc(a! / b!) : a! / b!),
  Mod: ([a, b]) => a! - Math.floor(a! / b!) * b!,
  Max: (xs) => Math.max(...xs),
  Min: (xs) => Math.min(...xs),
  Equal: ([a, b]) => (a === b ? 1 : 0),
  Less: ([a, b]) => (a! < b! ? 1 : 0),
  Greater: ([a, b]) => (a! > b! ? 1 : 0),
  LessOrEqual: ([a, b]) => (a! <= b! ? 1 : 0),
  GreaterOrEqual: ([a, b]) => (a! >= b! ? 1 : 0),
  And: ([a, b]) => (a && b ? 1 : 0),
  Or: ([a, b]) => (a || b ? 1 : 0),
  Where: ([c, a, b]) => (c ? a! : b!),
  Neg: ([a]) => -a!,
  Abs: ([a]) => Math.abs(a!),
  Not: ([a]) => (a ? 0 : 1),
};
const BOOL_OUT = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or', 'Not']);

/**
 * Evaluates `n` on the host when all its inputs are host constants (or, for Shape/Size, when its
 * input's shape is static). Returns the outputs, or undefined when the node must be traced.
 * The caller decides what counts as a host constant: never an initializer that may be a weight.
 */
export function foldOnHost(n: OnnxNode, inp: FoldInputs): HostValue[] | undefined {
  if (n.opType === 'Shape' || n.opType === 'Size') {
    const s = inp.shape(n.inputs[0]!);
    if (!s) return undefined;
    if (n.opType === 'Size') return [{ dtype: 'int64', dims: [], data: [size(s)] }];
    const r = s.length;
    const clampAt = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const start = clampAt((attr(n, 'start') as number | undefined) ?? 0);
    const end = clampAt((attr(n, 'end') as number | undefined) ?? r);
    const data = s.slice(start, Math.max(start, end));
    return [{ dtype: 'int64', dims: [data.length], data }];
  }
  const present = n.inputs.map((name) => (name ? inp.value(name) : undefined));
  if (n.inputs.some((name, i) => name && !present[i])) return undefined;
  const vs = present as (HostValue | undefined)[];
  const x = vs[0];
  // Large constants (tables, embeddings) are cheaper in the graph than as JS arrays.
  if (vs.some((v) => v && v.data.length > MAX_HOST_ELEMENTS)) return undefined;
  switch (n.opType) {
    case 'Identity':
      return [x!];
    case 'ConstantOfShape': {
      const t = attr(n, 'value') as OnnxTensor | undefined;
      const fill = t ? hostValueOf(t) : { dtype: 'float32' as DType, dims: [1], data: [0] };
      if (!fill) return undefined;
      return [{ dtype: fill.dtype, dims: [...x!.data], data: new Array<number>(size(x!.data)).fill(fill.data[0] ?? 0) }];
    }
    case 'Cast': {
      const to = CODE_DTYPE[attr(n, 'to') as number];
      if (!to || to === 'float16') return undefined;
      const conv = to === 'bool' ? (v: number) => (v ? 1 : 0) : FLOAT.has(to) ? (v: number) => v : Math.trunc;
      return [{ dtype: to, dims: x!.dims, data: x!.data.map(conv) }];
    }
    case 'Unsqueeze':
    case 'Squeeze': {
      const axes = vs[1] ? [...vs[1].data] : ((attr(n, 'axes') as number[] | undefined) ?? []);
      let dims: number[];
      if (n.opType === 'Unsqueeze') {
        const r = x!.dims.length + axes.length;
        const norm = axes.map((a) => (a < 0 ? a + r : a));
        let k = 0;
        dims = Array.from({ length: r }, (_, i) => (norm.includes(i) ? 1 : x!.dims[k++]!));
      } else {
        const norm = axes.map((a) => (a < 0 ? a + x!.dims.length : a));
        dims = x!.dims.filter((d, i) => (norm.length ? !norm.includes(i) : d !== 1));
      }
      return [{ ...x!, dims }];
    }
    case 'Reshape': {
      const target = vs[1]!.data.map((d, i) => (d === 0 ? x!.dims[i]! : d));
      const known = size(target.filter((d) => d !== -1));
      return [{ ...x!, dims: target.map((d) => (d === -1 ? size(x!.dims) / known : d)) }];
    }
    case 'Gather':
      return [gatherHost(x!, vs[1]!, (attr(n, 'axis') as number | undefined) ?? 0)];
    case 'Concat': {
      if (vs.some((v) => v!.dims.length > 1)) return undefined;
      const parts = vs.filter((v) => v!.dims.length === 1 || v!.data.length) as HostValue[];
      return [{ dtype: x!.dtype, dims: [parts.reduce((p, v) => p + v.data.length, 0)], data: parts.flatMap((v) => v.data) }];
    }
    case 'Slice': {
      if (x!.dims.length !== 1) return undefined;
      const d = x!.dims[0]!;
      const axes = vs[3] ? vs[3].data : [0];
      if (axes.length !== 1 || (axes[0] !== 0 && axes[0] !== -1)) return undefined;
      const step = vs[4] ? vs[4].data[0]! : 1;
      let s = vs[1]!.data[0]!;
      let e = vs[2]!.data[0]!;
      s = s < 0 ? s + d : s;
      e = e < 0 ? e + d : e;
      const data: number[] = [];
      if (step > 0) for (let i = Math.max(s, 0); i < Math.min(e, d); i += step) data.push(x!.data[i]!);
      else for (let i = Math.min(s, d - 1); i > Math.max(e, -1); i += step) data.push(x!.data[i]!);
      return [{ dtype: x!.dtype, dims: [data.length], data }];
    }
    case 'Range': {
      const [start, limit, delta] = [x!.data[0]!, vs[1]!.data[0]!, vs[2]!.data[0]!];
      const count = Math.max(Math.ceil((limit - start) / delta), 0);
      return [{ dtype: x!.dtype, dims: [count], data: Array.from({ length: count }, (_, i) => start + i * delta) }];
    }
    case 'Expand': {
      const shape: HostValue = { dtype: 'int64', dims: [...vs[1]!.data], data: new Array<number>(size(vs[1]!.data)).fill(0) };
      return [broadcast([x!, shape], x!.dtype, ([a]) => a!)];
    }
    default: {
      const f = ELEMENTWISE[n.opType];
      if (!f) return undefined;
      const values = vs as HostValue[];
      const dtype = BOOL_OUT.has(n.opType) ? 'bool' : (n.opType === 'Where' ? values[1]! : values[0]!).dtype;
      const integer = !FLOAT.has(dtype);
      return [broadcast(values, dtype, (xs) => f(xs, integer))];
    }
  }
}
