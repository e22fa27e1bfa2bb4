/** Readable reasons for the file-system errors a user can do something about. */
const REASONS = new Map<string, string>([
  ['ENOSPC', 'no space left on device'],
  ['EDQUOT', 'disk quota exceeded'],
  ['EROFS', 'read-only file system'],
  ['EACCES', 'permission denied'],
  ['EPERM', 'operation not permitted'],
  ['ENOTDIR', 'a parent path is not a directory'],
  ['EISDIR', 'it is a directory'],
  ['EEXIST', 'a file is in the way'],
  ['ENOENT', 'no such file or directory'],
  ['EIO', 'input/output error'],
  ['EFBIG', 'file too large'],
  ['ENAMETOOLONG', 'name too long'],
]);

/**
 * A failed write, said in one line: which file, why, and the errno code (kept on `code` so
 * callers can branch on it). The system error is the `cause`.
 */
export class DiskWriteError extends Error {
  readonly code: string;
  readonly path: string;
  readonly reason: string;

  constructor(path: string, code: string, reason: string, cause?: unknown) {
    super(`cannot write ${path}: ${reason} (${code})`, { cause });
    this.name = 'DiskWriteError';
    this.code = code;
    this.path = path;
    this.reason = reason;
  }
}

/**
 * `error` as a DiskWriteError naming `path` (the file the caller meant to write, not a temp
 * file) when it is a system error with an errno code; anything else (a bug) is returned as is.
 */
export function toDiskWriteError(error: unknown, path: string): unknown {
  if (error instanceof DiskWriteError) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string' || !/^E[A-Z0-9]+$/.test(code)) return error;
  const message = String((error as Error).message);
  // "ENOSPC: no space left on device, write" → "no space left on device"
  const reason = REASONS.get(code) ?? (message.replace(/^E[A-Z0-9]+:\s*/, '').split(',')[0] || code);
  return new DiskWriteError(path, code, reason, error);
}
