/**
 * The PyTorch side of the CPU benchmarks: Debian's system interpreter (python3-torch lives there,
 * not in a venv python3 that may shadow it), the OpenBLAS core choice, and the line protocol of a
 * persistent "run N steps" process (bench/kernels/torch_block.py, bench/mosaic/twin_step.py serve):
 * after warm-up it prints one JSON info line, then answers each stdin line "N" with a JSON list of
 * N step times in ms; "quit" exits.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** The flags line of /proc/cpuinfo ('' off Linux). */
export function cpuFlags(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'))?.replace(/^flags\s*:\s*/, '') ?? '';
  } catch {
    return '';
  }
}

/**
 * OpenBLAS 0.3.21 does not recognise the AVX-512 Xeons of the reference machines and silently
 * falls back to SSE3 "Prescott" kernels, so SkylakeX is forced there. On a CPU without AVX-512
 * (e.g. AMD EPYC/Zen) forcing SkylakeX dies with SIGILL, and OpenBLAS's own detection is right, so
 * it is left alone. The core that ran is printed either way.
 */
export function torchEnv(): NodeJS.ProcessEnv {
  // No __pycache__ folders in the working tree from the scripts' shared torch_serve.py.
  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' };
  return / avx512f /.test(` ${cpuFlags()} `) ? { ...env, OPENBLAS_CORETYPE: 'SkylakeX' } : env;
}

export interface TorchInfo {
  core: string;
  threads: number;
  torch: string;
}

export interface TorchServer {
  info: TorchInfo;
  /** Runs n steps; their times in ms. */
  run(n: number): Promise<number[]>;
  quit(): void;
}

/** Starts `python script ...args` and waits for its info line; null when it exits first (its stderr is inherited). */
export async function startTorchServer(script: string, args: readonly string[]): Promise<TorchServer | null> {
  const child = spawn(PYTHON, [script, ...args], { env: torchEnv(), stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let waiting: ((l: string | null) => void) | null = null;
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (waiting) {
        const w = waiting;
        waiting = null;
        w(line);
      } else lines.push(line);
    }
  });
  child.on('exit', () => waiting?.(null));
  const next = () => new Promise<string | null>((resolve) => (lines.length ? resolve(lines.shift()!) : (waiting = resolve)));
  const first = await next();
  if (!first) return null;
  return {
    info: JSON.parse(first) as TorchInfo,
    run: async (n) => {
      child.stdin.write(`${n}\n`);
      const l = await next();
      if (!l) throw new Error(`${script}: the torch process died`);
      return JSON.parse(l) as number[];
    },
    quit: () => {
      child.stdin.write('quit\n');
      child.stdin.end();
    },
  };
}
