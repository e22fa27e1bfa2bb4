import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface WalkOptions {
  /** Directories deeper than this are not entered (the root's entries are depth 0). */
  readonly maxDepth?: number;
  /** Leave out an entry (and, for a directory, all below it). */
  readonly skip?: (name: string, isDirectory: boolean) => boolean;
  /** Stop after this many files. */
  readonly limit?: number;
}

/**
 * Absolute paths of the regular files under `root`, depth first in name order. An unreadable or
 * missing directory contributes nothing rather than failing the walk.
 */
export async function walkFiles(root: string, options: WalkOptions = {}): Promise<string[]> {
  const { maxDepth = Infinity, skip, limit = Infinity } = options;
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return; // a folder that cannot be read (or vanished) is left out of the listing, not an error
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (out.length >= limit) return;
      if (skip?.(e.name, e.isDirectory())) continue;
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (depth < maxDepth) await walk(path, depth + 1);
      } else if (e.isFile()) out.push(path);
    }
  };
  await walk(root, 0);
  return out;
}
