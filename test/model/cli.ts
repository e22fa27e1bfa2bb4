/** Runs the tessera CLI on a graph from the repository root (not a test file). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export const ROOT = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);

/** `tessera run <graph> --out <out>`: exit code and stdout + stderr (a failed run does not throw). */
export async function cli(graph: string, out: string): Promise<{ code: number; text: string }> {
  try {
    const r = await run(process.execPath, ['bin/tessera.mjs', 'run', graph, '--out', out], { cwd: ROOT, timeout: 120_000 });
    return { code: 0, text: r.stdout + r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, text: `${x.stdout ?? ''}${x.stderr ?? ''}` };
  }
}
