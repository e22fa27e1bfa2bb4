import { runCli } from '../core/cli/main.ts';
import type { CliIo } from '../core/cli/CliIo.ts';
import { loadEngine } from './loadEngine.ts';

/**
 * `tessera` with the built-in plugins: the composition root the bin script (and tests that drive
 * the CLI in-process) call. Returns the exit code.
 */
export function main(argv: readonly string[], io?: CliIo): Promise<number> {
  return runCli(argv, io, loadEngine);
}
