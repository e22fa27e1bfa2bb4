import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/writeFileAtomic.ts';
import { RUNS_DIR_MARKER } from './names.ts';

/** What a marker holds: hex, so a foreign file is not mistaken for one. */
export const RUNS_DIR_ID_PATTERN = /^[0-9a-f]{16,64}$/;

/** The id in `dir`'s marker, or undefined when there is none (or it is not a marker). */
export async function readRunsDirMarker(dir: string): Promise<string | undefined> {
  try {
    const id = (await readFile(join(dir, RUNS_DIR_MARKER), 'utf8')).trim();
    return RUNS_DIR_ID_PATTERN.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The id of the runs folder `dir`, written there on first use (and kept: a restarted server
 * keeps the id its workers already see). Jobs carry it, and a worker whose `--runs-dir` holds
 * another id (or none) refuses them: its artifacts would land where the server never looks.
 */
export async function ensureRunsDirMarker(dir: string): Promise<string> {
  const have = await readRunsDirMarker(dir);
  if (have) return have;
  const id = randomBytes(16).toString('hex');
  await writeFileAtomic(join(dir, RUNS_DIR_MARKER), id + '\n');
  return id;
}
