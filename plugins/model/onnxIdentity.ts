import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { externalDataLocations, type OnnxTensor } from 'tessera/kernels';

/**
 * sha256 of an export: the .onnx bytes, then each initializer that came from a side file (name,
 * dtype, dims, bytes as read). A checkpoint records it, so a swapped side file (same .onnx) is a
 * different model. Without external data it is sha256 of the .onnx bytes alone.
 */
export function onnxDigest(onnxBytes: Uint8Array, external: readonly OnnxTensor[]): string {
  const h = createHash('sha256').update(onnxBytes);
  for (const t of external) {
    h.update(`\0${t.name}\0${t.dtype}[${t.dims.join(',')}]\0`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

// Side-file names per .onnx version (path, mtime, size, inode), so a cache hit does not re-read a
// large export; bounded because each entry outlives its run.
const LOCATIONS = new Map<string, string[]>();
const MAX_REMEMBERED = 32;

/**
 * A cache fingerprint for an .onnx file and the external-data side files it names: mtime, size
 * and inode of each (a side file that is missing or unreadable reads as such; the import itself
 * refuses it with the reason).
 */
export async function onnxFingerprint(path: string): Promise<string> {
  const st = await stat(path);
  const version = `${st.mtimeMs}:${st.size}:${st.ino}`;
  const key = `${path}\0${version}`;
  let locations = LOCATIONS.get(key);
  if (!locations) {
    locations = externalDataLocations(await readFile(path));
    if (LOCATIONS.size >= MAX_REMEMBERED) LOCATIONS.delete(LOCATIONS.keys().next().value!);
    LOCATIONS.set(key, locations);
  }
  const parts = [version];
  for (const location of locations) {
    const side = await stat(resolve(dirname(path), location)).catch(() => null);
    parts.push(`${location}=${side ? `${side.mtimeMs}:${side.size}:${side.ino}` : 'missing'}`);
  }
  return JSON.stringify(parts);
}
