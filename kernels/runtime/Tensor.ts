import ort from 'onnxruntime-node';
import type { AnyTypedArray, DType, TypedArrayOf } from '../onnx/OnnxModel.ts';

/** Nested number arrays accepted by `Tensor.from`. */
export type NestedNumbers = number | readonly NestedNumbers[];

export function allocateTyped<D extends DType>(dtype: D, n: number): TypedArrayOf<D> {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n) as TypedArrayOf<D>;
    case 'float64':
      return new Float64Array(n) as TypedArrayOf<D>;
    case 'int64':
      return new BigInt64Array(n) as TypedArrayOf<D>;
    case 'int32':
      return new Int32Array(n) as TypedArrayOf<D>;
    case 'int8':
      return new Int8Array(n) as TypedArrayOf<D>;
    case 'float16':
      return new Uint16Array(n) as TypedArrayOf<D>;
    default:
      return new Uint8Array(n) as TypedArrayOf<D>;
  }
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function flatten(v: NestedNumbers, out: number[], shape: number[], depth: number): void {
  if (typeof v === 'number') {
    if (depth !== shape.length) throw new Error('Tensor.from: ragged nested array');
    out.push(v);
    return;
  }
  if (shape.length === depth) shape.push(v.length);
  else if (shape[depth] !== v.length) throw new Error('Tensor.from: ragged nested array');
  for (const x of v) flatten(x, out, shape, depth + 1);
}

/**
 * A host tensor: dtype, static shape and a typed array in row-major order. Converting to and from
 * onnxruntime tensors wraps the same memory (no copy), so step outputs can be fed straight back.
 *
 * @example
 * const x = Tensor.from([[1, 2], [3, 4]]);          // float32 [2, 2]
 * const y = Tensor.zeros([3], 'float64');
 * x.toOrt();                                        // ort.Tensor over the same Float32Array
 */
export class Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: TypedArrayOf<D>;

  constructor(dtype: D, shape: readonly number[], data?: TypedArrayOf<D>) {
    const n = sizeOf(shape);
    if (data && data.length !== n) {
      throw new Error(`Tensor: data has ${data.length} elements but shape [${shape.join(', ')}] needs ${n}`);
    }
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.data = data ?? allocateTyped(dtype, n);
  }

  /** Builds a tensor from (nested) numbers; the shape is taken from the nesting unless given. */
  static from<D extends DType = 'float32'>(values: NestedNumbers, shape?: readonly number[], dtype: D = 'float32' as D): Tensor<D> {
    const flat: number[] = [];
    const inferred: number[] = [];
    flatten(values, flat, inferred, 0);
    const s = shape ?? inferred;
    const data = allocateTyped(dtype, flat.length);
    if (dtype === 'int64') for (let i = 0; i < flat.length; i++) (data as BigInt64Array)[i] = BigInt(Math.round(flat[i]!));
    else (data as Float32Array).set(flat);
    return new Tensor(dtype, s, data);
  }

  static zeros<D extends DType = 'float32'>(shape: readonly number[], dtype: D = 'float32' as D): Tensor<D> {
    return new Tensor(dtype, shape);
  }

  static scalar<D extends DType = 'float32'>(value: number | bigint, dtype: D = 'float32' as D): Tensor<D> {
    const data = allocateTyped(dtype, 1);
    (data as unknown as (number | bigint)[])[0] = dtype === 'int64' ? BigInt(value) : Number(value);
    return new Tensor(dtype, [], data);
  }

  /** Wraps an onnxruntime tensor's data without copying (CPU tensors only). */
  static fromOrt(t: ort.Tensor): Tensor {
    return new Tensor(t.type as DType, t.dims, t.data as AnyTypedArray as TypedArrayOf<DType>);
  }

  get size(): number {
    return this.data.length;
  }

  /** An onnxruntime tensor over the same memory. */
  toOrt(): ort.Tensor {
    return new ort.Tensor(this.dtype as 'float32', this.data as Float32Array, this.shape as number[]);
  }

  /** Values as plain numbers (int64 converted with Number). */
  toArray(): number[] {
    return Array.from(this.data as ArrayLike<number | bigint>, Number);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`Tensor.item: tensor has ${this.size} elements, not 1`);
    return Number(this.data[0]);
  }

  /** A copy with its own memory. */
  clone(): Tensor<D> {
    return new Tensor(this.dtype, this.shape, this.data.slice() as TypedArrayOf<D>);
  }
}

/** Anything a kernel accepts as an input value. */
export type TensorLike = Tensor | ort.Tensor;

/**
 * A host tensor from any tensor: tessera tensors as they are, ORT tensors in host memory wrapped
 * without a copy, device-resident ones (location 'gpu-buffer') downloaded.
 */
export async function toHostTensor(t: TensorLike): Promise<Tensor> {
  if (t instanceof Tensor) return t;
  if (t.location === 'cpu' || t.location === 'cpu-pinned') return Tensor.fromOrt(t);
  const data = await t.getData();
  return new Tensor(t.type as DType, t.dims, data as AnyTypedArray as TypedArrayOf<DType>);
}

export function toOrtTensor(t: TensorLike): ort.Tensor {
  return t instanceof Tensor ? t.toOrt() : t;
}
