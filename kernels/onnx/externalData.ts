import { open, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { DTYPE_BYTES, type OnnxModel, type OnnxTensor } from './OnnxModel.ts';

/** True when `inner` is `root` itself or lies below it (both absolute, normalised). */
function inside(root: string, inner: string): boolean {
  const rel = relative(root, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.split(sep).includes('..'));
}

/**
 * Where an external tensor's side file is: its location resolved against the model's folder,
 * refused when it is absolute or climbs out of the folder, before or after following symlinks
 * (a model file from elsewhere must not make the loader read arbitrary files).
 */
export async function externalDataPath(dir: string, location: string, tensor: string): Promise<string> {
  const why = `tensor '${tensor}' names external data '${location}'`;
  if (location.includes('\0') || isAbsolute(location) || /^[A-Za-z]:/.test(location)) throw new Error(`onnx external data: ${why}, which is not a path relative to the model's folder`);
  const root = resolve(dir);
  const path = resolve(root, location);
  if (!inside(root, path) || path === root) throw new Error(`onnx external data: ${why}, which is outside the model's folder ${root}`);
  let real: string;
  try {
    real = await realpath(path);
  } catch (e) {
    throw new Error(`onnx external data: ${why}, which cannot be read: ${(e as Error).message}`);
  }
  if (!inside(await realpath(root), real)) throw new Error(`onnx external data: ${why}, a link to ${real}, outside the model's folder ${root}`);
  return real;
}

/** Reads one tensor's bytes from its side file at its offset (no whole-file read: DiT-XL is > 2 GB). */
async function readExternal(t: OnnxTensor, path: string): Promise<void> {
  const ref = t.external!;
  const n = t.dims.reduce((a, b) => a * b, 1);
  const want = n * DTYPE_BYTES[t.dtype];
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const length = ref.length ?? size - ref.offset;
    if (length !== want) throw new Error(`onnx external data: tensor '${t.name}' has ${length} bytes in '${ref.location}', expected ${want} for ${t.dtype}[${t.dims.join(', ')}]`);
    if (ref.offset + length > size) throw new Error(`onnx external data: tensor '${t.name}' reads bytes ${ref.offset}..${ref.offset + length} of '${ref.location}', which has ${size}`);
    const data = new (t.data.constructor as new (k: number) => typeof t.data)(n);
    const bytes = new Uint8Array(data.buffer);
    let done = 0;
    while (done < want) {
      const { bytesRead } = await fh.read(bytes, done, want - done, ref.offset + done);
      if (bytesRead === 0) throw new Error(`onnx external data: '${ref.location}' ended early while reading tensor '${t.name}'`);
      done += bytesRead;
    }
    t.data = data;
    delete t.external;
  } finally {
    await fh.close();
  }
}

/**
 * Reads every external initializer of a decoded model from its side file in `dir` (the model's
 * folder), in place. Both layouts exporters write work: onnx's one data file with offsets and
 * torch's one file per tensor. Paths outside `dir` are refused (see `externalDataPath`).
 *
 * @example
 * const model = decodeModel(await readFile('dit/model.onnx'));
 * await resolveExternalData(model, 'dit');
 */
export async function resolveExternalData(model: OnnxModel, dir: string): Promise<void> {
  const paths = new Map<string, string>();
  for (const t of model.graph.initializers) {
    if (!t.external) continue;
    let path = paths.get(t.external.location);
    if (!path) paths.set(t.external.location, (path = await externalDataPath(dir, t.external.location, t.name)));
    await readExternal(t, path);
  }
}
