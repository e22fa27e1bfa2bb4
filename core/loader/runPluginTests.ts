import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliIo } from '../cli/CliIo.ts';

/**
 * Runs a plugin's uvu tests in a child process with this engine's toolchain (tsx, uvu) and the
 * `'tessera'` resolve hook, so a fresh plugin folder tests offline without installing anything.
 * Prints the closing line `N passed, N failed, N skipped`; returns the exit code.
 */
export async function runPluginTests(dir: string, io: CliIo): Promise<number> {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const testDir = existsSync(join(dir, 'test')) ? 'test' : '.';
  const child = spawn(process.execPath, ['--import', join(root, 'core/loader/register.mjs'), join(root, 'node_modules/uvu/bin.js'), testDir, '\\.test\\.ts$', '-i', 'node_modules'], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    io.stdout.write(d);
  });
  child.stderr.on('data', (d) => {
    out += d;
    io.stderr.write(d);
  });
  const rc = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const get = (k: string) => Number([...out.matchAll(new RegExp(`^\\s*${k}:\\s+(\\d+)`, 'gm'))].pop()?.[1] ?? 0);
  const total = get('Total');
  const passed = get('Passed');
  const skipped = get('Skipped');
  io.stdout.write(`${passed} passed, ${total - passed - skipped} failed, ${skipped} skipped\n`);
  if (total === 0) {
    io.stderr.write('no tests ran\n');
    return 1;
  }
  return rc;
}
