// Sample → files on disk. Kept free of engine and validator imports: generation workers load
// only this, the generator and pngjs, so they start fast.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import type { Split } from './identity.ts';
import { encodePng } from 'tessera/image';
import type { SemAlignSample } from './sample.ts';

/** One manifest entry: a sample and every file it owns. */
export interface ManifestEntry {
  readonly id: string;
  readonly split: Split;
  readonly index: number;
  readonly k: number;
  readonly annotation: string;
  readonly files: readonly { readonly path: string; readonly bytes: number }[];
}

/** Encodes a sample into its files (relative path → bytes), annotation last. */
export function encodeSample(s: SemAlignSample): { path: string; data: Uint8Array }[] {
  const a = s.annotation;
  const out = [
    { path: a.target.file, data: encodePng(s.target) as Uint8Array },
    { path: a.label.file, data: encodePng(s.label) },
    ...a.subjects.map((sub, i) => ({ path: sub.reference.file, data: encodePng(s.refs[i]!) as Uint8Array })),
  ];
  if (a.dip) {
    if (!s.loser || !s.dipMask) throw new Error(`${a.id}: annotation has a DIP pair but the sample has no loser/mask image`);
    out.push({ path: a.dip.loser.file, data: encodePng(s.loser) }, { path: a.dip.mask.file, data: encodePng(s.dipMask) });
  }
  out.push({ path: `${a.split}/${a.id}.json`, data: Buffer.from(JSON.stringify(a) + '\n') });
  return out;
}

/**
 * Writes a file via a temp file and a rename, so a kill or a full disk never leaves half a PNG
 * under its name; an error names the file. Synchronous on purpose: for ~2 kB files it costs a
 * fraction of a thread-pool round trip. (The engine's writeFileAtomic is async and would pull
 * the engine into generation workers.)
 */
function writeFileSyncAtomic(path: string, data: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${threadId}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    throw Object.assign(new Error(`cannot write ${path}: ${err.message}`, { cause: e }), { code: err.code });
  }
}

/**
 * Writes a sample's files under `root` and returns its manifest entry. Each file is atomic, and
 * the manifest (written last) is what marks a dataset complete.
 */
export function writeSample(root: string, s: SemAlignSample): ManifestEntry {
  const files = encodeSample(s);
  mkdirSync(join(root, s.annotation.split), { recursive: true });
  for (const f of files) writeFileSyncAtomic(join(root, f.path), f.data);
  const a = s.annotation;
  return {
    id: a.id,
    split: a.split,
    index: a.index,
    k: a.k,
    annotation: `${a.split}/${a.id}.json`,
    files: files.map((f) => ({ path: f.path, bytes: f.data.byteLength })),
  };
}

