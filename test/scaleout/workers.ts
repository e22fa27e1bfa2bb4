import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/tessera.mjs', import.meta.url));

/** A `tessera worker` process of a test, with what it printed. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly output: string;
  /** Resolves once the worker has connected and takes jobs. */
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
}

/** Spawns `node bin/tessera.mjs [global] worker --queue <url> [args]` in `cwd` (global: e.g. `--plugin dir`; env: added to this process's). */
export function spawnWorker(url: string, cwd: string, args: readonly string[] = [], global: readonly string[] = [], env: Readonly<Record<string, string>> = {}): WorkerProcess {
  const child = spawn(process.execPath, [BIN, ...global, 'worker', '--queue', url, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
  // The output is gathered before anything reads it (listeners run in the order added).
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const w: WorkerProcess = {
    child,
    get output() {
      return output;
    },
    ready: new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`worker not ready in 60 s:\n${w.output}`)), 60_000);
      const check = () => {
        if (w.output.includes('tessera worker ')) {
          clearTimeout(t);
          resolve();
        }
      };
      child.stdout!.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`worker exited (${code}) before it was ready:\n${w.output}`));
      });
    }),
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  return w;
}

/** Stops a worker: SIGTERM, then SIGKILL if it has not left within 10 s. */
export async function stopWorker(w: WorkerProcess): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGTERM');
  const t = setTimeout(() => w.child.kill('SIGKILL'), 10_000);
  await w.exited;
  clearTimeout(t);
}
