/** Running bench/mosaic/twin_step.py: its `check` mode to completion, its `serve` mode as a timing server. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PYTHON, startTorchServer, torchEnv, type TorchServer } from '../kernels/torchServer.ts';

export const TWIN_SCRIPT = fileURLToPath(new URL('./twin_step.py', import.meta.url));

/** Runs `twin_step.py check` to completion; throws with its output when it fails. */
export function runTorchCheck(caseDir: string, outDir: string, threads: number): void {
  const r = spawnSync(PYTHON, [TWIN_SCRIPT, 'check', caseDir, outDir, String(threads)], { env: torchEnv(), encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`twin_step.py check failed (exit ${r.status ?? r.signal}):\n${r.stderr}${r.stdout}`);
}

/** A persistent `twin_step.py serve` process on the case in `caseDir`. */
export async function startTwinServer(caseDir: string, threads: number, warmup: number): Promise<TorchServer> {
  const s = await startTorchServer(TWIN_SCRIPT, ['serve', caseDir, String(threads), String(warmup)]);
  if (!s) throw new Error('twin_step.py serve failed to start (its stderr is above)');
  return s;
}
