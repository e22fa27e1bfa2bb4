import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from 'tessera';
import { loadSafetensors } from 'tessera/kernels';
import type { HistoryRow } from './lossCurve.ts';

const NAME = /^step-(\d{8})\.safetensors$/;

/** File name of the checkpoint after `step` completed steps (sortable). */
export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, '0')}.safetensors`;
}

/** The EMA weights saved with a checkpoint. */
export const emaPath = (ckpt: string): string => ckpt.replace(/\.safetensors$/, '.ema.safetensors');

/** The manifest that commits a checkpoint (written last). */
export const manifestPath = (ckpt: string): string => ckpt.replace(/\.safetensors$/, '.manifest.json');

/** Checkpoints in a folder, oldest first (a missing folder has none). */
export async function listCheckpoints(dir: string): Promise<{ step: number; path: string }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .map((n) => NAME.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), path: join(dir, m[0]) }))
    .sort((a, b) => a.step - b.step);
}

interface FileDigest {
  name: string;
  size: number;
  sha256: string;
}

/**
 * What a checkpoint was committed with: size and SHA-256 of its files (checkpoint, EMA), and of
 * the history rows up to its step. history.json is shared by all checkpoints and grows, so its
 * digest covers the first `rows` rows as serialised, not the file.
 */
interface CheckpointManifest {
  format: 'tessera-checkpoint';
  version: 1;
  step: number;
  files: FileDigest[];
  history: { rows: number; sha256: string };
}

async function digestFile(path: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

const historyDigest = (rows: readonly HistoryRow[]) => createHash('sha256').update(JSON.stringify(rows)).digest('hex');

/**
 * Commits a checkpoint whose files are already on disk: the manifest is written (atomically,
 * fsynced) after them, so a checkpoint with a manifest was complete when it was saved.
 */
export async function writeManifest(ckpt: string, step: number, files: readonly string[], history: readonly HistoryRow[]): Promise<void> {
  const digests: FileDigest[] = [];
  for (const f of files) digests.push({ name: basename(f), ...(await digestFile(f)) });
  const manifest: CheckpointManifest = { format: 'tessera-checkpoint', version: 1, step, files: digests, history: { rows: history.length, sha256: historyDigest(history) } };
  await writeFileAtomic(manifestPath(ckpt), JSON.stringify(manifest, null, 1) + '\n', { sync: true });
}

const isInt = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isHex = (x: unknown): x is string => typeof x === 'string' && /^[0-9a-f]{64}$/.test(x);

/** The manifest, type-checked field by field; a string says what is wrong with it. */
function parseManifest(text: string, step: number): CheckpointManifest | string {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    return `unreadable (${(e as Error).message})`;
  }
  const o = m as Partial<Record<keyof CheckpointManifest, unknown>> | null;
  if (!o || typeof o !== 'object' || o.format !== 'tessera-checkpoint' || o.version !== 1) return 'not a checkpoint manifest (format/version)';
  if (o.step !== step) return `says step ${String(o.step)}, its name says ${step}`;
  const files = o.files;
  if (!Array.isArray(files) || !files.every((f: Partial<FileDigest> | null) => f && typeof f.name === 'string' && /^step-\d{8}(\.ema)?\.safetensors$/.test(f.name) && isInt(f.size) && isHex(f.sha256))) return 'malformed file list';
  const h = o.history as { rows?: unknown; sha256?: unknown } | null;
  if (!h || typeof h !== 'object' || !isInt(h.rows) || !isHex(h.sha256)) return 'malformed history digest';
  return o as CheckpointManifest;
}

/** A checkpoint that passed verification: its manifest (null for one saved without). */
export interface VerifiedCheckpoint {
  manifest: { history: { rows: number; sha256: string } } | null;
}

/**
 * Checks a checkpoint before a resume. With a manifest: every file it lists must have the same
 * size and SHA-256 (and the EMA file must be among them when `ema`). Without one (saved by an
 * older version, or killed between the checkpoint and its manifest, when the checkpoint is
 * complete but uncommitted): the checkpoint, and its EMA file when `ema`, must parse. Returns
 * what is wrong, naming the file, or the verified checkpoint.
 */
export async function verifyCheckpoint(ckpt: string, step: number, ema: boolean): Promise<VerifiedCheckpoint | { problem: string }> {
  let text: string | undefined;
  try {
    text = await readFile(manifestPath(ckpt), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return { problem: `${manifestPath(ckpt)}: ${(e as Error).message}` };
  }
  if (text === undefined) {
    for (const path of ema ? [ckpt, emaPath(ckpt)] : [ckpt]) {
      try {
        await loadSafetensors(path);
      } catch (e) {
        return { problem: `${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : (e as Error).message} (no manifest to check it against)` };
      }
    }
    return { manifest: null };
  }
  const manifest = parseManifest(text, step);
  if (typeof manifest === 'string') return { problem: `${manifestPath(ckpt)}: ${manifest}` };
  const names = manifest.files.map((f) => f.name);
  for (const needed of ema ? [ckpt, emaPath(ckpt)] : [ckpt]) if (!names.includes(basename(needed))) return { problem: `${manifestPath(ckpt)}: does not list ${basename(needed)}` };
  for (const f of manifest.files) {
    const path = join(dirname(ckpt), f.name);
    const size = await stat(path).then((s) => s.size, () => -1);
    if (size < 0) return { problem: `${path}: missing (listed in ${basename(manifestPath(ckpt))})` };
    if (size !== f.size) return { problem: `${path}: size ${size} ≠ ${f.size} in manifest` };
    if ((await digestFile(path)).sha256 !== f.sha256) return { problem: `${path}: SHA-256 differs from the manifest's` };
  }
  return { manifest };
}

/**
 * The loss history of steps 1…`step` from history.json. It is refused, naming the file, when
 * missing, unreadable, short, or different from what the checkpoint was committed with: a
 * resumed run with half its history would look complete.
 */
export async function readVerifiedHistory(dir: string, ckpt: string, step: number, manifest: VerifiedCheckpoint['manifest']): Promise<HistoryRow[]> {
  const path = join(dir, 'history.json');
  const fail = (why: string) => new Error(`cannot resume from ${ckpt}: ${path} ${why} (the loss history of steps 1…${step} lives there; restore it, or resume: false to start over)`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw fail((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : `cannot be read (${(e as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw fail(`is unreadable (${(e as Error).message}); it may be truncated`);
  }
  if (!Array.isArray(parsed)) throw fail('is not a list of rows');
  const rows = parsed.filter((r: Partial<HistoryRow> | null) => r && typeof r === 'object' && isInt(r.step) && r.step <= step) as HistoryRow[];
  if (rows.length < step || rows.some((r, i) => r.step !== i + 1)) throw fail(`holds ${rows.length} of the ${step} rows the checkpoint needs`);
  if (manifest && (manifest.history.rows !== step || historyDigest(rows) !== manifest.history.sha256)) throw fail(`differs from the rows the checkpoint was saved with`);
  return rows;
}
