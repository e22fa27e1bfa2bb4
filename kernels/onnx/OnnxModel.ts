/** Element types tessera kernels use, named as onnxruntime-node names them. */
export type DType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

/** Typed-array class backing each dtype (float16 is carried as raw uint16 bits). */
export type TypedArrayOf<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int64'
      ? BigInt64Array
      : D extends 'int32'
        ? Int32Array
        : D extends 'int8'
          ? Int8Array
          : D extends 'float16'
            ? Uint16Array
            : Uint8Array;

export type AnyTypedArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;

/** ONNX TensorProto.DataType codes. */
export const DTYPE_CODE: Record<DType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

export const CODE_DTYPE: Record<number, DType> = Object.fromEntries(
  Object.entries(DTYPE_CODE).map(([k, v]) => [v, k as DType]),
) as Record<number, DType>;

export const DTYPE_BYTES: Record<DType, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  int64: 8,
  int32: 4,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** A named constant tensor (initializer or tensor attribute). `data` is the little-endian payload. */
export interface OnnxTensor {
  name: string;
  dtype: DType;
  dims: number[];
  data: AnyTypedArray;
  /**
   * Set while the payload still lives in a side file (TensorProto data_location = EXTERNAL):
   * `data` is then empty until `resolveExternalData` (or `loadOnnxFile`) reads it.
   */
  external?: ExternalDataRef;
}

/** Where an external tensor's bytes are: a file named relative to the model's folder. */
export interface ExternalDataRef {
  location: string;
  /** Byte offset in that file (default 0). */
  offset: number;
  /** Byte count, or null when the file holds this tensor alone from `offset` on. */
  length: number | null;
}

export type OnnxAttribute =
  | { name: string; type: 'float'; value: number }
  | { name: string; type: 'int'; value: number }
  | { name: string; type: 'string'; value: string }
  | { name: string; type: 'floats'; value: number[] }
  | { name: string; type: 'ints'; value: number[] }
  | { name: string; type: 'strings'; value: string[] }
  | { name: string; type: 'tensor'; value: OnnxTensor }
  /** Attribute kinds this project does not interpret (subgraphs, sparse tensors): raw bytes kept. */
  | { name: string; type: 'raw'; value: Uint8Array[]; field: number; code: number };

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attributes: OnnxAttribute[];
}

/** A graph input/output/value-info entry; string dims are symbolic (dim_param). */
export interface OnnxValueInfo {
  name: string;
  dtype: DType;
  shape: (number | string)[] | null;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: OnnxTensor[];
  valueInfo: OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  producerName: string;
  opsetImports: { domain: string; version: number }[];
  graph: OnnxGraph;
}

/** IR 10 + opset 21: accepted by onnxruntime 1.30 (max IR 13, opset 26) and has LayerNormalization and Gelu. */
export const DEFAULT_IR_VERSION = 10;
export const DEFAULT_OPSET = 21;
