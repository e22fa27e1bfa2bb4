import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../cli/CliIo.ts';

/**
 * A file of a package installed for the plugin (its own devDependencies, found the way Node
 * looks: node_modules of the folder and its parents), or undefined. Read from disk, not through
 * the package's "exports", which may hide its bin scripts.
 */
function packageFile(dir: string, name: string, file: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name, file);
    if (existsSync(candidate)) return candidate;
    if (dirname(d) === d) return undefined;
  }
}

/** Runs a child process, copying its output to `io`; resolves with its exit code and output. */
function runChild(args: string[], cwd: string, io: CliIo): Promise<{ code: number; out: string }> {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    io.stdout.write(d);
  });
  child.stderr.on('data', (d) => {
    out += d;
    io.stderr.write(d);
  });
  return new Promise((resolve) => {
    child.on('error', (error) => resolve({ code: 1, out: out + String(error) }));
    child.on('close', (c) => resolve({ code: c ?? 1, out }));
  });
}

/**
 * `tessera plugin test`: type-checks the plugin with its tsconfig.json (tsc from its own
 * devDependencies), then runs its uvu tests in a child process with tsx and the `'tessera'`
 * resolve hook of this engine. Type errors, a missing tool and zero tests run are failures.
 * Prints the closing line `N passed, N failed, N skipped`; returns the exit code.
 */
export async function runPluginTests(dir: string, io: CliIo, options: { typecheck?: boolean } = {}): Promise<number> {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  if (options.typecheck !== false) {
    if (!existsSync(join(dir, 'tsconfig.json'))) {
      io.stderr.write(`error: no tsconfig.json in ${dir}, so the plugin cannot be type-checked (tessera plugin new writes one; --no-typecheck skips the check)\n`);
      return 1;
    }
    const tsc = packageFile(dir, 'typescript', 'bin/tsc');
    if (!tsc) {
      io.stderr.write(`error: typescript is not installed in ${dir}: add it to devDependencies and run npm install (--no-typecheck skips the check)\n`);
      return 1;
    }
    io.stdout.write('type-checking (tsc --noEmit)…\n');
    const checked = await runChild([tsc, '--noEmit', '-p', dir], dir, io);
    if (checked.code !== 0) {
      io.stderr.write('type errors: the tests were not run\n');
      return 1;
    }
  }
  const uvu = packageFile(dir, 'uvu', 'bin.js');
  if (!uvu) {
    io.stderr.write(`error: uvu is not installed in ${dir}: add it to devDependencies and run npm install\n`);
    return 1;
  }
  const testDir = existsSync(join(dir, 'test')) ? 'test' : '.';
  const { code, out } = await runChild(['--import', join(root, 'core/loader/register.mjs'), uvu, testDir, '\\.test\\.ts$', '-i', 'node_modules'], dir, io);
  const get = (k: string) => Number([...out.matchAll(new RegExp(`^\\s*${k}:\\s+(\\d+)`, 'gm'))].pop()?.[1] ?? 0);
  const total = get('Total');
  const passed = get('Passed');
  const skipped = get('Skipped');
  io.stdout.write(`${passed} passed, ${total - passed - skipped} failed, ${skipped} skipped\n`);
  if (total === 0) {
    io.stderr.write('no tests ran: a plugin needs at least one test (test/**/*.test.ts)\n');
    return 1;
  }
  return code;
}
