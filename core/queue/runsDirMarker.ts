import { randomBytes } from 'node:crypto';
import { link, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { toDiskWriteError } from '../util/diskError.ts';
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
 *
 * The marker is created exclusively: a complete temp file is hard-linked to the marker's name,
 * which fails when the name exists. A rename would replace it, so two first users at once (a
 * server and a `sweep --queue`) would each keep their own id, and workers would refuse one side
 * forever; with link the loser reads the winner's id.
 */
export async function ensureRunsDirMarker(dir: string): Promise<string> {
  const have = await readRunsDirMarker(dir);
  if (have) return have;
  const path = join(dir, RUNS_DIR_MARKER);
  const id = randomBytes(16).toString('hex');
  const tmp = join(dir, `.${RUNS_DIR_MARKER}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFileAtomic(tmp, id + '\n'); // creates `dir` too
    await link(tmp, path);
    return id;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw toDiskWriteError(error, path);
    const winner = await readRunsDirMarker(dir);
    if (winner) return winner;
    throw new Error(`${path} exists but holds no runs-folder id (16 to 64 hex digits); remove it, or choose another runs folder`);
  } finally {
    await rm(tmp, { force: true }).catch(() => undefined); // cleanup only
  }
}
