import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { DType } from '../onnx/OnnxModel.ts';
import { Tensor, allocateTyped } from '../runtime/Tensor.ts';

const ST_DTYPE: Record<string, DType> = { F32: 'float32', F64: 'float64', F16: 'float16', I64: 'int64', I32: 'int32', I8: 'int8', U8: 'uint8', BOOL: 'bool' };
const DTYPE_ST: Record<DType, string> = Object.fromEntries(Object.entries(ST_DTYPE).map(([k, v]) => [v, k])) as Record<DType, string>;

let tmpCounter = 0;

/** Bytes of a safetensors file: 8-byte LE header length, JSON header, then raw tensor data. */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const names = Object.keys(tensors).sort();
  for (const name of names) {
    const t = tensors[name]!;
    const n = t.data.byteLength;
    header[name] = { dtype: DTYPE_ST[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (allowed by the format).
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const hbytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hbytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let pos = 8 + hbytes.length;
  for (const name of names) {
    const d = tensors[name]!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

/** Parses safetensors bytes; tensors get their own aligned memory. */
export function decodeSafetensors(bytes: Uint8Array): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new Error('safetensors: file too short');
  const hlen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + hlen > bytes.length) throw new Error('safetensors: header length exceeds file size');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen))) as Record<string, any>;
  const base = 8 + hlen;
  const tensors: Record<string, Tensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = info as Record<string, string>;
      continue;
    }
    const dtype = ST_DTYPE[info.dtype];
    if (!dtype) throw new Error(`safetensors: tensor '${name}' has unsupported dtype ${info.dtype}`);
    const [b, e] = info.data_offsets as [number, number];
    if (base + e > bytes.length || b > e) throw new Error(`safetensors: tensor '${name}' data lies outside the file`);
    const n = (info.shape as number[]).reduce((p, q) => p * q, 1);
    const data = allocateTyped(dtype, n);
    if (data.byteLength !== e - b) throw new Error(`safetensors: tensor '${name}' has ${e - b} bytes, shape needs ${data.byteLength}`);
    new Uint8Array(data.buffer).set(bytes.subarray(base + b, base + e));
    tensors[name] = new Tensor(dtype, info.shape, data);
  }
  return { tensors, metadata };
}

/**
 * Writes tensors as a .safetensors file atomically: a temp file in the same directory is fully
 * written and fsynced, then renamed over the target, so a crash never leaves half a checkpoint.
 */
export async function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  const bytes = encodeSafetensors(tensors, metadata);
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${tmpCounter++}.tmp`);
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

export async function loadSafetensors(path: string): Promise<{ tensors: Record<string, Tensor>; metadata: Record<string, string> }> {
  return decodeSafetensors(await readFile(path));
}
