import { access, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from 'tessera';
import { encodePng } from 'tessera/image';
import type { PreferencePair } from './pairs.ts';

/** One entry of pairs.json. */
export interface PairRecord {
  readonly id: string;
  readonly source: 'dip' | 'on-policy';
  readonly k: number;
  readonly slot: number;
  /** The DIP kind, or 'on-policy'. */
  readonly kind: string;
  /** Pixels of the prior mask (DIP: changed pixels; on-policy: the subject's region). */
  readonly changedPixels: number;
  /** On-policy only: how the pair was chosen (seeds, every candidate's reward, margin). */
  readonly onPolicy?: { readonly seeds: { readonly winner: number; readonly loser: number }; readonly rewards: readonly number[]; readonly margin: number };
  readonly files: { readonly winner: string; readonly loser: string; readonly mask: string };
}

export const PAIRS_MANIFEST = 'pairs.json';
const FLUSH_EVERY = 16;

/** Entries of an existing manifest whose files are all present (a damaged or foreign manifest is an error, never overwritten silently). */
async function donePairs(dir: string): Promise<Map<string, PairRecord>> {
  const done = new Map<string, PairRecord>();
  let text: string;
  try {
    text = await readFile(join(dir, PAIRS_MANIFEST), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return done;
    throw e;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`focusdpo: ${join(dir, PAIRS_MANIFEST)} is not JSON; move it away or choose another folder`);
  }
  const d = doc as { format?: unknown; pairs?: unknown };
  if (d.format !== 'focusdpo-pairs' || !Array.isArray(d.pairs)) throw new Error(`focusdpo: ${join(dir, PAIRS_MANIFEST)} is not a focusdpo pairs manifest`);
  for (const r of d.pairs as PairRecord[]) {
    if (typeof r?.id !== 'string' || typeof r.files !== 'object' || r.files === null) continue;
    const files = [r.files.winner, r.files.loser, r.files.mask];
    if (files.some((f) => typeof f !== 'string')) continue;
    const present = await Promise.all(files.map((f) => access(join(dir, f)).then(() => true, () => false)));
    if (present.every(Boolean)) done.set(r.id, r);
  }
  return done;
}

/**
 * Writes pairs as PNG triples (winner, loser, mask) plus pairs.json listing them (the condition —
 * references and layout — is the SemAlign sample of the same id). Every file is written atomically
 * and the manifest is rewritten after every 16 pairs, so an interrupted run resumes: pairs the
 * manifest lists with all files present are not written again.
 */
export async function writePairsDataset(dir: string, pairs: readonly PreferencePair[], signal?: AbortSignal): Promise<{ written: number; skipped: number }> {
  await mkdir(dir, { recursive: true });
  const done = await donePairs(dir);
  const skipped = pairs.filter((p) => done.has(p.annotation.id)).length;
  const flush = () => writeFileAtomic(join(dir, PAIRS_MANIFEST), JSON.stringify({ format: 'focusdpo-pairs', version: 1, pairs: [...done.values()] }, null, 1) + '\n');
  let written = 0;
  for (const p of pairs) {
    signal?.throwIfAborted();
    const id = p.annotation.id;
    // Ids name files: one that could climb out of the dataset folder is refused, not joined.
    if (!/^[\w.-]+$/.test(id) || id.includes('..')) throw new RangeError(`focusdpo: sample id ${JSON.stringify(id)} cannot name a file (letters, digits, '_', '-', '.' only)`);
    if (done.has(id)) continue;
    const files = { winner: `${id}_winner.png`, loser: `${id}_loser.png`, mask: `${id}_mask.png` };
    await writeFileAtomic(join(dir, files.winner), encodePng(p.target));
    await writeFileAtomic(join(dir, files.loser), encodePng(p.loser));
    await writeFileAtomic(join(dir, files.mask), encodePng(p.dipMask));
    done.set(id, recordOf(p, id, files));
    if (++written % FLUSH_EVERY === 0) await flush();
  }
  await flush();
  return { written, skipped };
}

function recordOf(p: PreferencePair, id: string, files: PairRecord['files']): PairRecord {
  const dip = p.annotation.dip;
  if (dip) return { id, source: 'dip', k: p.refs.length, slot: dip.slot, kind: dip.kind, changedPixels: dip.changedPixels, files };
  const o = p.preference!;
  let changed = 0;
  for (const v of p.dipMask.data) if (v) changed++;
  return { id, source: 'on-policy', k: p.refs.length, slot: o.slot, kind: 'on-policy', changedPixels: changed, onPolicy: { seeds: o.seeds, rewards: o.rewards, margin: o.margin }, files };
}
