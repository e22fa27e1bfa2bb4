/** Small helpers the MOSAIC bench scripts share: command-line options, medians, machine facts. */
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
