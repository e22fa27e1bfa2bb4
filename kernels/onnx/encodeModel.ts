import { ProtoWriter } from './ProtoWriter.ts';
import { DTYPE_CODE, type OnnxAttribute, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './OnnxModel.ts';

const ATTR_CODE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7, strings: 8 } as const;

/** Little-endian bytes of a typed array (a view, no copy; the host is little-endian). */
function rawBytes(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  w.packedInts(1, t.dims);
  w.int(2, DTYPE_CODE[t.dtype]);
  w.string(8, t.name);
  w.bytes(9, rawBytes(t.data));
}

function writeAttribute(w: ProtoWriter, a: OnnxAttribute): void {
  w.string(1, a.name);
  switch (a.type) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.int(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'tensor':
      w.message(5, (c) => writeTensor(c, a.value));
      break;
    case 'floats':
      w.packedFloats(7, a.value);
      break;
    case 'ints':
      w.packedInts(8, a.value);
      break;
    case 'strings':
      for (const s of a.value) w.string(9, s);
      break;
    case 'raw':
      // Re-emit the original payload under its original field so decode → encode round-trips.
      for (const v of a.value) w.bytes(a.field, v);
      w.int(20, a.code);
      return;
  }
  w.int(20, ATTR_CODE[a.type]);
}

function writeNode(w: ProtoWriter, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes) w.message(5, (c) => writeAttribute(c, a));
  if (n.domain) w.string(7, n.domain);
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, DTYPE_CODE[v.dtype]);
      if (v.shape) {
        const shape = v.shape;
        tt.message(2, (s) => {
          for (const d of shape) s.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        });
      }
    }),
  );
}

/**
 * Serialises a model to ONNX protobuf bytes, ready for `InferenceSession.create(bytes)`.
 *
 * @example
 * const bytes = encodeModel({ irVersion: 10, producerName: 'x', opsetImports: [{ domain: '', version: 21 }],
 *   graph: { name: 'g', nodes: [{ opType: 'Neg', inputs: ['X'], outputs: ['Y'], attributes: [] }],
 *     inputs: [{ name: 'X', dtype: 'float32', shape: [2] }], outputs: [{ name: 'Y', dtype: 'float32', shape: [2] }],
 *     initializers: [], valueInfo: [] } });
 */
export function encodeModel(model: OnnxModel): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, model.irVersion);
  w.string(2, model.producerName);
  w.message(7, (g) => {
    for (const n of model.graph.nodes) g.message(1, (c) => writeNode(c, n));
    g.string(2, model.graph.name);
    for (const t of model.graph.initializers) g.message(5, (c) => writeTensor(c, t));
    for (const v of model.graph.inputs) g.message(11, (c) => writeValueInfo(c, v));
    for (const v of model.graph.outputs) g.message(12, (c) => writeValueInfo(c, v));
    for (const v of model.graph.valueInfo) g.message(13, (c) => writeValueInfo(c, v));
  });
  for (const o of model.opsetImports) {
    w.message(8, (c) => {
      if (o.domain) c.string(1, o.domain);
      c.int(2, o.version);
    });
  }
  return w.finish();
}
