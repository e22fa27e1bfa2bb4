/**
 * Exit codes: 0 success, 1 a node failed or the run record could not be written (disk full,
 * read-only, permissions), 2 invalid graph or usage (an --out holding an earlier run without
 * --force included), 130 cancelled (Ctrl-C).
 */
export const EXIT = { ok: 0, nodeFailure: 1, invalid: 2, cancelled: 130 } as const;

/** Where the CLI writes; tests pass their own. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
}
