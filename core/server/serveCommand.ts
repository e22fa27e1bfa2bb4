import type { CliIo } from '../cli/main.ts';

/** Options of `tessera serve`. */
export interface ServeOptions {
  host: string;
  port: number;
  token?: string;
  concurrency: number;
  workspace: string;
}

/** `tessera serve` — not built yet (issue: visual graph editor); reports that and exits 2. */
export async function serveCommand(_opts: ServeOptions, io: CliIo): Promise<number> {
  io.stderr.write('tessera serve is not available yet\n');
  return 2;
}
