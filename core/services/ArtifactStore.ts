import { mkdir } from 'node:fs/promises';
import { isAbsolute, normalize, relative, resolve } from 'node:path';
import { isInside } from './Workspace.ts';
import { walkFiles } from '../util/walkFiles.ts';
import { writeFileAtomic } from '../util/writeFileAtomic.ts';

/**
 * A run's output directory. Writes are atomic and confined to the directory: a relative path that
 * would climb out of it (`../x`) is refused.
 *
 * @example
 * const file = await ctx.artifacts.write('metrics/loss.json', JSON.stringify(losses));
 */
export class ArtifactStore {
  readonly dir: string;
  readonly #written: string[] = [];

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** Absolute path for a relative name inside the run directory; throws on escapes. */
  resolvePath(name: string): string {
    if (isAbsolute(name)) throw new Error(`artifact path must be relative: ${name}`);
    const full = resolve(this.dir, normalize(name));
    // isInside, not a '..' prefix test: `..x.json` is a legitimate name.
    if (full === this.dir || !isInside(this.dir, full)) {
      throw new Error(`artifact path escapes the run directory: ${name}`);
    }
    return full;
  }

  /** Writes `data` atomically to `name` and returns the absolute path. */
  async write(name: string, data: string | Uint8Array): Promise<string> {
    const path = this.resolvePath(name);
    await writeFileAtomic(path, data);
    this.#written.push(path);
    return path;
  }

  /** Writes a value as pretty JSON. */
  writeJson(name: string, value: unknown): Promise<string> {
    const text = JSON.stringify(value, null, 2) as string | undefined;
    // JSON.stringify gives undefined (not text) for undefined, functions and symbols.
    if (text === undefined) return Promise.reject(new TypeError(`cannot write ${name}: the value (${typeof value}) has no JSON form`));
    return this.write(name, text + '\n');
  }

  /** Creates (and returns) a sub-directory. */
  async mkdir(name: string): Promise<string> {
    const path = this.resolvePath(name);
    await mkdir(path, { recursive: true });
    return path;
  }

  /** Files written through this store in this process, in order. */
  get written(): readonly string[] {
    return this.#written;
  }

  /** Every file under the directory, relative paths, sorted. */
  async list(): Promise<string[]> {
    const files = await walkFiles(this.dir, { skip: (name, isDir) => !isDir && name.endsWith('.tmp') });
    return files.map((f) => relative(this.dir, f)).sort();
  }
}
