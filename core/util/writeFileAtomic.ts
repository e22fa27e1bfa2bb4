import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { toDiskWriteError } from './diskError.ts';

let counter = 0;

export interface WriteFileAtomicOptions {
  /**
   * fsync the data before the rename, so the file survives a crash of the machine, not only of
   * the process (commit points such as checkpoint manifests; too slow for every preview PNG).
   */
  sync?: boolean;
}

/**
 * Writes a file so readers see either the old or the new content, never half of it: the data
 * goes to a temp file in the same directory, which is then renamed over the target. A failure
 * (disk full, read-only, permissions) removes the temp file and throws a DiskWriteError that
 * names `path` in one line.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: WriteFileAtomicOptions = {}): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${counter++}.tmp`);
  await makeDir(dirname(path));
  try {
    if (opts.sync) {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    } else await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => undefined); // cleanup only: the write's own error is the one to report
    throw toDiskWriteError(error, path);
  }
}

/**
 * mkdir -p, level by level. Node's recursive mkdir reports ENOENT for the deepest folder when a
 * parent is read-only, and loops forever under /proc; creating one level at a time stops at the
 * folder that failed, with the real reason.
 */
async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT' || dirname(dir) === dir) throw toDiskWriteError(error, dir);
    await makeDir(dirname(dir));
    await mkdir(dir).catch((again: NodeJS.ErrnoException) => {
      if (again.code !== 'EEXIST') throw toDiskWriteError(again, dir);
    });
  }
}
