import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { resolveExternalData } from './externalData.ts';
import { ProtoReader, toSigned, type ProtoField } from './ProtoReader.ts';
import {
  CODE_DTYPE,
  DTYPE_BYTES,
  type AnyTypedArray,
  type DType,
  type ExternalDataRef,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from './OnnxModel.ts';

const utf8 = new TextDecoder();
const str = (f: ProtoField) => utf8.decode(f.bytes!);
const num = (f: ProtoField) => toSigned(f.int!);

function ints(fields: ProtoField[], field: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.field !== field) continue;
    if (f.wire === 0) out.push(num(f));
    else for (const v of ProtoReader.packedVarints(f.bytes!)) out.push(toSigned(v));
  }
  return out;
}

function fixed(fields: ProtoField[], field: number, width: 4 | 8): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.field !== field) continue;
    const b = f.bytes!;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let o = 0; o + width <= b.byteLength; o += width) out.push(width === 4 ? view.getFloat32(o, true) : view.getFloat64(o, true));
  }
  return out;
}

function allocate(dtype: DType, n: number): AnyTypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'float16':
      return new Uint16Array(n);
    default:
      return new Uint8Array(n);
  }
}

/** Decodes a TensorProto from raw_data or the typed repeated fields (float_data, int64_data, ...). */
function decodeTensor(bytes: Uint8Array): OnnxTensor {
  const fields = new ProtoReader(bytes).fields();
  const dims = ints(fields, 1);
  const code = num(fields.find((f) => f.field === 2) ?? { field: 2, wire: 0, int: 1n });
  const dtype = CODE_DTYPE[code];
  const name = fields.find((f) => f.field === 8);
  const tname = name ? str(name) : '';
  if (!dtype) throw new Error(`onnx decode: tensor '${tname}' has unsupported data type code ${code}`);
  const n = dims.reduce((a, b) => a * b, 1);
  if (fields.some((f) => f.field === 14 && f.int === 1n)) {
    // The bytes are in a side file; only a loader that knows the model's folder can read them.
    return { name: tname, dtype, dims, data: allocate(dtype, 0), external: externalRef(fields, tname) };
  }
  const data = allocate(dtype, n);
  const raw = fields.find((f) => f.field === 9);
  if (raw) {
    const b = raw.bytes!;
    if (b.byteLength !== n * DTYPE_BYTES[dtype]) {
      throw new Error(`onnx decode: tensor '${tname}' raw_data has ${b.byteLength} bytes, expected ${n * DTYPE_BYTES[dtype]}`);
    }
    // Copy so the tensor owns aligned memory independent of the file buffer.
    new Uint8Array(data.buffer).set(b);
  } else if (dtype === 'float32') {
    (data as Float32Array).set(fixed(fields, 4, 4));
  } else if (dtype === 'float64') {
    (data as Float64Array).set(fixed(fields, 10, 8));
  } else if (dtype === 'int64') {
    const vals: bigint[] = [];
    for (const f of fields) if (f.field === 7) vals.push(...(f.wire === 0 ? [f.int!] : ProtoReader.packedVarints(f.bytes!)).map((v) => BigInt.asIntN(64, v)));
    (data as BigInt64Array).set(vals);
  } else {
    // int32, int8, uint8, bool and float16 bits all live in int32_data.
    const vals = ints(fields, 5);
    for (let i = 0; i < vals.length; i++) (data as Int32Array)[i] = vals[i]!;
  }
  return { name: tname, dtype, dims, data };
}

/** TensorProto.external_data: key/value entries (location, offset, length; checksum ignored). */
function externalRef(fields: ProtoField[], tname: string): ExternalDataRef {
  const entries = new Map<string, string>();
  for (const f of fields.filter((x) => x.field === 13)) {
    const kv = new ProtoReader(f.bytes!).fields();
    const k = kv.find((x) => x.field === 1);
    const v = kv.find((x) => x.field === 2);
    if (k) entries.set(str(k), v ? str(v) : '');
  }
  const location = entries.get('location');
  if (!location) throw new Error(`onnx decode: tensor '${tname}' is external but names no location`);
  const count = (key: string): number | null => {
    const raw = entries.get(key);
    if (raw === undefined) return null;
    if (!/^\d{1,15}$/.test(raw)) throw new Error(`onnx decode: tensor '${tname}' has external ${key} '${raw}', not a byte count`);
    return Number(raw);
  };
  return { location, offset: count('offset') ?? 0, length: count('length') };
}

function decodeAttribute(bytes: Uint8Array): OnnxAttribute {
  const fields = new ProtoReader(bytes).fields();
  const get = (n: number) => fields.find((f) => f.field === n);
  const name = str(get(1)!);
  const typeField = get(20);
  const code = typeField ? num(typeField) : 0;
  switch (code) {
    case 1:
      return { name, type: 'float', value: fixed(fields, 2, 4)[0] ?? 0 };
    case 2:
      return { name, type: 'int', value: get(3) ? num(get(3)!) : 0 };
    case 3:
      return { name, type: 'string', value: get(4) ? str(get(4)!) : '' };
    case 4:
      return { name, type: 'tensor', value: decodeTensor(get(5)!.bytes!) };
    case 6:
      return { name, type: 'floats', value: fixed(fields, 7, 4) };
    case 7:
      return { name, type: 'ints', value: ints(fields, 8) };
    case 8:
      return { name, type: 'strings', value: fields.filter((f) => f.field === 9).map(str) };
    default: {
      // Subgraphs (If/Loop bodies), sparse tensors, type protos: kept opaque so encode can re-emit them.
      const payload = fields.filter((f) => f.field !== 1 && f.field !== 20 && f.wire === 2);
      return { name, type: 'raw', code, field: payload[0]?.field ?? 6, value: payload.map((f) => f.bytes!) };
    }
  }
}

function decodeNode(bytes: Uint8Array): OnnxNode {
  const fields = new ProtoReader(bytes).fields();
  const node: OnnxNode = { opType: '', inputs: [], outputs: [], attributes: [] };
  for (const f of fields) {
    if (f.field === 1) node.inputs.push(str(f));
    else if (f.field === 2) node.outputs.push(str(f));
    else if (f.field === 3) node.name = str(f);
    else if (f.field === 4) node.opType = str(f);
    else if (f.field === 5) node.attributes.push(decodeAttribute(f.bytes!));
    else if (f.field === 7) node.domain = str(f);
  }
  return node;
}

function decodeValueInfo(bytes: Uint8Array): OnnxValueInfo {
  const fields = new ProtoReader(bytes).fields();
  const info: OnnxValueInfo = { name: '', dtype: 'float32', shape: null };
  for (const f of fields) {
    if (f.field === 1) info.name = str(f);
    if (f.field !== 2) continue;
    const tensorType = new ProtoReader(f.bytes!).fields().find((t) => t.field === 1);
    if (!tensorType) continue;
    for (const t of new ProtoReader(tensorType.bytes!).fields()) {
      if (t.field === 1) info.dtype = CODE_DTYPE[num(t)] ?? info.dtype;
      if (t.field === 2) {
        info.shape = new ProtoReader(t.bytes!)
          .fields()
          .filter((d) => d.field === 1)
          .map((d) => {
            const dim = new ProtoReader(d.bytes!).fields();
            const value = dim.find((x) => x.field === 1);
            const param = dim.find((x) => x.field === 2);
            return value ? num(value) : param ? str(param) : '?';
          });
      }
    }
  }
  return info;
}

function decodeGraph(bytes: Uint8Array): OnnxGraph {
  const graph: OnnxGraph = { name: '', nodes: [], inputs: [], outputs: [], initializers: [], valueInfo: [] };
  for (const f of new ProtoReader(bytes).fields()) {
    if (f.field === 1) graph.nodes.push(decodeNode(f.bytes!));
    else if (f.field === 2) graph.name = str(f);
    else if (f.field === 5) graph.initializers.push(decodeTensor(f.bytes!));
    else if (f.field === 11) graph.inputs.push(decodeValueInfo(f.bytes!));
    else if (f.field === 12) graph.outputs.push(decodeValueInfo(f.bytes!));
    else if (f.field === 13) graph.valueInfo.push(decodeValueInfo(f.bytes!));
  }
  return graph;
}

/**
 * Decodes ONNX protobuf bytes (an exported encoder, a model built elsewhere) into the same plain
 * structure `encodeModel` writes, initializers included, so graphs can be inspected or extended.
 *
 * @example
 * const model = decodeModel(await readFile('encoder.onnx'));
 * console.log(model.graph.nodes.length, model.graph.initializers.map((t) => t.name));
 */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  const model: OnnxModel = {
    irVersion: 0,
    producerName: '',
    opsetImports: [],
    graph: { name: '', nodes: [], inputs: [], outputs: [], initializers: [], valueInfo: [] },
  };
  for (const f of new ProtoReader(bytes).fields()) {
    if (f.field === 1) model.irVersion = num(f);
    else if (f.field === 2) model.producerName = str(f);
    else if (f.field === 7) model.graph = decodeGraph(f.bytes!);
    else if (f.field === 8) {
      const o = new ProtoReader(f.bytes!).fields();
      const d = o.find((x) => x.field === 1);
      const v = o.find((x) => x.field === 2);
      model.opsetImports.push({ domain: d ? str(d) : '', version: v ? num(v) : 0 });
    }
  }
  return model;
}

/**
 * The side files an .onnx file's initializers name (each once, in order), without decoding the
 * model or copying any tensor: cheap enough for a cache fingerprint.
 */
export function externalDataLocations(bytes: Uint8Array): string[] {
  const out = new Set<string>();
  for (const m of new ProtoReader(bytes).fields()) {
    if (m.field !== 7) continue;
    for (const g of new ProtoReader(m.bytes!).fields()) {
      if (g.field !== 5) continue;
      const fields = new ProtoReader(g.bytes!).fields();
      if (!fields.some((f) => f.field === 14 && f.int === 1n)) continue;
      const name = fields.find((f) => f.field === 8);
      out.add(externalRef(fields, name ? str(name) : '').location);
    }
  }
  return [...out];
}

/**
 * Reads and decodes an .onnx file. Tensors stored as external data are read from their side
 * files, which must lie inside the model's folder (see `resolveExternalData`).
 */
export async function loadOnnxFile(path: string): Promise<OnnxModel> {
  const model = decodeModel(await readFile(path));
  await resolveExternalData(model, dirname(path));
  return model;
}
