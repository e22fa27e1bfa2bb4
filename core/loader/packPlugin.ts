import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliIo } from '../cli/CliIo.ts';
import { checkManifest, type PluginPackageJson } from './readManifest.ts';
import { runPluginTests } from './runPluginTests.ts';

/**
 * `tessera plugin pack`: refuses a plugin whose manifest this engine would refuse, type-checks and
 * tests it, then runs `npm pack` (offline; nothing is published) and prints the tarball's path.
 */
export async function packPlugin(dir: string, io: CliIo, outDir = dir): Promise<number> {
  const pkgPath = join(dir, 'package.json');
  if (!existsSync(pkgPath)) {
    io.stderr.write(`error: no package.json in ${dir}\n`);
    return 2;
  }
  let pkg: PluginPackageJson;
  try {
    pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as PluginPackageJson;
  } catch (error) {
    io.stderr.write(`error: ${pkgPath} is not valid JSON: ${(error as Error).message}\n`);
    return 2;
  }
  const checked = checkManifest(pkg);
  if ('refused' in checked) {
    io.stderr.write(`error: ${checked.refused}\n`);
    return 2;
  }
  if (!pkg.keywords?.includes('tessera-plugin')) io.stderr.write('warning: without the keyword "tessera-plugin" projects will not find the package in node_modules\n');
  const tested = await runPluginTests(dir, io);
  if (tested !== 0) {
    io.stderr.write('error: not packed: the checks failed\n');
    return tested;
  }
  const packed = spawnSync('npm', ['pack', '--offline', '--silent', '--pack-destination', outDir], { cwd: dir, encoding: 'utf8' });
  if (packed.status !== 0) {
    io.stderr.write(`error: npm pack failed: ${packed.stderr || packed.error?.message}\n`);
    return 1;
  }
  const file = packed.stdout.trim().split('\n').pop()!;
  io.stdout.write(`packed ${join(outDir, file)}\n`);
  return 0;
}
