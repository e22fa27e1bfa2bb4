/** Small helpers the MOSAIC bench scripts share: command-line options, medians, machine facts. */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';

/** `--name value` from the command line, or undefined. */
export function opt(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** A numeric option; `min` set → an integer ≥ min is required. */
export function num(name: string, def: number, min?: number): number {
  const v = opt(name);
  if (v === undefined) return def;
  const n = Number(v);
  if (min !== undefined ? !Number.isInteger(n) || n < min : !Number.isFinite(n)) {
    throw new RangeError(min !== undefined ? `--${name} must be an integer ≥ ${min}, got '${v}'` : `--${name} must be a number, got '${v}'`);
  }
  return n;
}

export const median = (v: readonly number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const round = (x: number, d = 2): number => +x.toFixed(d);

/** CPU model, cores and load: printed and stored with every result (this machine is shared). */
export const machine = () => ({ cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), loadavg: loadavg().map((x) => round(x)) });

/** One line for a results file: CPU model × cores, load average, time. */
export const machineLine = (): string => `${cpus()[0]?.model ?? '?'} × ${cpus().length}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}, ${new Date().toISOString()}`;

/** Runs a command with stdout and stderr appended to `log`; resolves with its exit code. */
export function runLogged(cmd: string, args: readonly string[], log: string): Promise<number> {
  const fd = openSync(log, 'a');
  return new Promise((res, rej) => spawn(cmd, args, { stdio: ['ignore', fd, fd] }).on('error', rej).on('exit', (code) => res(code ?? 1)));
}

/** Whether a run record (`run.json`) says the run finished ("done"; "run:done" in records of older versions). */
export const isRunDone = (file: string): Promise<boolean> =>
  readFile(file, 'utf8').then((t) => ['done', 'run:done'].includes(String((JSON.parse(t) as { status?: string }).status))).catch(() => false);

/** Each logged quantity's mean over the last `n` rows of a training history (rows without it skipped: K = 1 steps have no MDL term). */
export function tailMeans(history: readonly Record<string, number>[], n: number): Map<string, number> {
  const tail = history.slice(-n);
  const out = new Map<string, number>();
  for (const key of new Set(tail.flatMap((r) => Object.keys(r)))) {
    if (key === 'step') continue;
    const vals = tail.map((r) => r[key]).filter((v): v is number => typeof v === 'number');
    if (vals.length) out.set(key, vals.reduce((a, v) => a + v, 0) / vals.length);
  }
  return out;
}
