import { readlink, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** Whether a path is read, or may be created/overwritten/deleted. */
export type PathAccess = 'read' | 'write';

/** Options of a {@link Workspace}. */
export interface WorkspaceOptions {
  /**
   * Further folders that may be read but not written, e.g. an installed plugin's bundled
   * weights. Writes are confined to the root and the run's own directory.
   */
  readonly readRoots?: readonly string[];
  /** Further folders that take writes too, e.g. the run's own directory. */
  readonly writableRoots?: readonly string[];
  /** Lifts the boundary (the CLI's `--allow-outside-workspace`); the server never sets it. */
  readonly allowOutside?: boolean;
}

/**
 * A path that a graph named was refused. The message never depends on whether anything exists
 * outside the boundary, so an error cannot be used to probe the file system.
 */
export class WorkspacePathError extends Error {
  readonly code = 'path_outside_workspace';
  constructor(readonly path: string, why = 'resolves outside the workspace') {
    super(`path "${path}" ${why}`);
    this.name = 'WorkspacePathError';
  }
}

/**
 * The folder everything a graph names must stay inside: checkpoints, datasets, weights, graph
 * files. Relative paths resolve from the root. Two checks:
 * - {@link check}: lexical and pure (no file system), for validation;
 * - {@link resolve}: follows symlinks with realpath, for the moment of use, so a link inside the
 *   workspace that points out of it is refused too.
 */
export class Workspace {
  readonly root: string;
  readonly readRoots: readonly string[];
  /** Roots that take writes besides {@link root}. */
  readonly writableRoots: readonly string[];
  readonly allowOutside: boolean;

  constructor(root: string, options: WorkspaceOptions = {}) {
    this.root = resolve(root);
    this.readRoots = (options.readRoots ?? []).map((r) => resolve(r));
    this.writableRoots = (options.writableRoots ?? []).map((r) => resolve(r));
    this.allowOutside = options.allowOutside ?? false;
  }

  /** The same boundary with extra roots; `writable` ones (a run directory) also take writes. */
  with(extra: { writable?: readonly string[]; readable?: readonly string[] }): Workspace {
    return new Workspace(this.root, {
      readRoots: [...this.readRoots, ...(extra.readable ?? [])],
      writableRoots: [...this.writableRoots, ...(extra.writable ?? [])],
      allowOutside: this.allowOutside,
    });
  }

  #roots(access: PathAccess): string[] {
    return access === 'write' ? [this.root, ...this.writableRoots] : [this.root, ...this.writableRoots, ...this.readRoots];
  }

  /** Absolute form of a graph-named path (relative to the root). */
  absolute(path: string): string {
    return isAbsolute(path) ? resolve(path) : resolve(this.root, path);
  }

  /**
   * Why `path` is refused, judged from its text alone, or `undefined` when it stays inside.
   * Symlinks are not seen here; {@link resolve} sees them.
   */
  check(path: unknown, access: PathAccess): string | undefined {
    if (typeof path !== 'string') return 'must be a string path';
    if (path.includes('\0')) return 'contains a NUL character';
    if (this.allowOutside) return undefined;
    const full = this.absolute(path);
    return this.#roots(access).some((r) => isInside(r, full)) ? undefined : access === 'write' ? 'resolves outside the workspace (writes must stay inside it)' : 'resolves outside the workspace';
  }

  /**
   * The real absolute path for `path`, after following every symlink on the way, dangling ones
   * included (a write through a dangling link creates its target); throws
   * {@link WorkspacePathError} when the result leaves the boundary. A missing tail is allowed (a
   * file about to be written). Every refusal reads the same whether or not the target exists.
   */
  async resolve(path: string, access: PathAccess): Promise<string> {
    const why = this.check(path, access);
    if (why) throw new WorkspacePathError(String(path), why);
    const full = this.absolute(path);
    if (this.allowOutside) return full;
    let real: string;
    let roots: string[];
    try {
      real = await followLinks(full);
      roots = await Promise.all(this.#roots(access).map((r) => followLinks(r)));
    } catch (error) {
      // ELOOP, EACCES …: answered as a refusal, never as a raw errno that names the cause.
      throw new WorkspacePathError(path, `cannot be resolved (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!roots.some((r) => isInside(r, real))) throw new WorkspacePathError(path, 'resolves outside the workspace through a symbolic link');
    return real;
  }
}

/** Whether `path` is `root` or lies below it (both absolute and normalised). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

/** Most links followed for one path (Linux's own limit is 40). */
const MAX_LINKS = 40;

/**
 * What `full` really names: realpath of its longest existing prefix with the missing rest
 * appended, where a missing part that is a dangling symlink is followed to its target (so a
 * later write cannot escape through it).
 */
async function followLinks(full: string): Promise<string> {
  let path = full;
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    const tail: string[] = [];
    let head = path;
    let next: string | undefined;
    for (;;) {
      try {
        return join(await realpath(head), ...tail);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
        const target = await readlink(head).catch(() => undefined); // not a link (or gone): undefined
        if (target !== undefined) {
          next = join(resolve(dirname(head), target), ...tail);
          break;
        }
        const parent = dirname(head);
        if (parent === head) return join(head, ...tail);
        tail.unshift(head.slice(parent.length).replace(/^[\\/]/, ''));
        head = parent;
      }
    }
    path = next;
  }
  throw Object.assign(new Error('too many symbolic links'), { code: 'ELOOP' });
}
