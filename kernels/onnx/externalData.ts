import { constants } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { DTYPE_BYTES, type OnnxModel, type OnnxTensor } from './OnnxModel.ts';

/** True when `inner` is `root` itself or lies below it (both absolute, normalised). */
function inside(root: string, inner: string): boolean {
  const rel = relative(root, inner);
  // Segment test, not a prefix test: '..weights' is a fine name inside the folder.
  return rel === '' || (!isAbsolute(rel) && !rel.split(sep).includes('..'));
}

const describe = (location: string, tensor: string) => `tensor '${tensor}' names external data '${location}'`;

/**
 * Where an external tensor's side file is, lexically: its location resolved against the model's
 * folder, refused when it is absolute or climbs out of the folder. Links are judged after opening
 * (see `checkOpenedInside`).
 */
export function externalDataPath(dir: string, location: string, tensor: string): string {
  const why = describe(location, tensor);
  if (location.includes('\0') || isAbsolute(location) || /^[A-Za-z]:/.test(location)) throw new Error(`onnx external data: ${why}, which is not a path relative to the model's folder`);
  const root = resolve(dir);
  const path = resolve(root, location);
  if (!inside(root, path) || path === root) throw new Error(`onnx external data: ${why}, which is outside the model's folder ${root}`);
  return path;
}

/**
 * Refuses an opened side file unless it is a regular file inside `dir` after following links.
 * Checked on the descriptor, after the open: the link's target now (realpath) must be inside the
 * folder AND be the very file that was opened (same device and inode), so a link swapped between
 * the check and the open cannot make the loader read a file from elsewhere. Same check on every
 * platform (no /proc needed).
 */
export async function checkOpenedInside(fh: FileHandle, path: string, dir: string, why: string): Promise<void> {
  const opened = await fh.stat({ bigint: true });
  if (!opened.isFile()) throw new Error(`onnx external data: ${why}, which is not a regular file`);
  let real: string;
  try {
    real = await realpath(path);
  } catch (e) {
    throw new Error(`onnx external data: ${why}, which changed while it was opened: ${(e as Error).message}`);
  }
  const root = await realpath(resolve(dir));
  if (!inside(root, real)) throw new Error(`onnx external data: ${why}, a link to ${real}, outside the model's folder ${resolve(dir)}`);
  const now = await stat(real, { bigint: true });
  if (now.dev !== opened.dev || now.ino !== opened.ino) throw new Error(`onnx external data: ${why}, which changed while it was opened (the file opened is not ${real} any more)`);
}

/** Opens a tensor's side file read-only, checked (see `externalDataPath`, `checkOpenedInside`). */
export async function openExternalData(dir: string, location: string, tensor: string): Promise<FileHandle> {
  const why = describe(location, tensor);
  const path = externalDataPath(dir, location, tensor);
  let fh: FileHandle;
  try {
    // Non-blocking so a FIFO planted as a side file cannot hang the open (no effect on regular files).
    fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    throw new Error(`onnx external data: ${why}, which cannot be read: ${(e as Error).message}`);
  }
  try {
    await checkOpenedInside(fh, path, dir, why);
  } catch (e) {
    await fh.close();
    throw e;
  }
  return fh;
}

/** Reads one tensor's bytes from its open side file at its offset (no whole-file read: DiT-XL is > 2 GB). */
async function readExternal(t: OnnxTensor, fh: FileHandle, size: number): Promise<void> {
  const ref = t.external!;
  const n = t.dims.reduce((a, b) => a * b, 1);
  const want = n * DTYPE_BYTES[t.dtype];
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
}

/**
 * Reads every external initializer of a decoded model from its side file in `dir` (the model's
 * folder), in place; each side file is opened once. Both layouts exporters write work: onnx's one
 * data file with offsets and torch's one file per tensor. Paths outside `dir` are refused (see
 * `openExternalData`).
 *
 * @example
 * const model = decodeModel(await readFile('dit/model.onnx'));
 * await resolveExternalData(model, 'dit');
 */
export async function resolveExternalData(model: OnnxModel, dir: string): Promise<void> {
  const byFile = new Map<string, OnnxTensor[]>();
  for (const t of model.graph.initializers) {
    if (!t.external) continue;
    const list = byFile.get(t.external.location);
    if (list) list.push(t);
    else byFile.set(t.external.location, [t]);
  }
  for (const [location, tensors] of byFile) {
    const fh = await openExternalData(dir, location, tensors[0]!.name);
    try {
      const size = Number((await fh.stat()).size);
      for (const t of tensors) await readExternal(t, fh, size);
    } finally {
      await fh.close();
    }
  }
}
