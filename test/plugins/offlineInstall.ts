import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;

/** An address where no registry answers: any fetch npm tries fails at once instead of going online. */
export const NO_REGISTRY = 'http://127.0.0.1:9/';

/**
 * npm can install a tarball offline only when every dependency is already satisfied. The test
 * machine has no registry, so the plugin's node_modules is seeded with links to packages this
 * repository already installed (the engine's runtime dependencies plus the named tools); npm then
 * adds the engine tarball itself and leaves the links alone.
 */
export function seedNodeModules(dir: string, tools: readonly string[]): void {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const names = Object.entries(lock.packages)
    .filter(([key, info]) => key.startsWith('node_modules/') && !key.slice('node_modules/'.length).includes('node_modules/') && !info.dev)
    .map(([key]) => key.slice('node_modules/'.length));
  for (const name of [...names, ...tools]) {
    const from = join(root, 'node_modules', name);
    const to = join(dir, 'node_modules', name);
    if (!existsSync(from) || existsSync(to)) continue;
    mkdirSync(dirname(to), { recursive: true });
    symlinkSync(from, to);
  }
}

/** `npm install` in `dir` with no registry reachable and no install scripts. */
export function installOffline(dir: string, specs: readonly string[] = []): void {
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--registry', NO_REGISTRY, ...specs], { cwd: dir, stdio: 'pipe' });
}

/** `npm pack` of a folder into `dest`; returns the tarball's path. */
export function npmPack(dir: string, dest: string): string {
  const out = execFileSync('npm', ['pack', '--offline', '--silent', '--pack-destination', dest], { cwd: dir, encoding: 'utf8' });
  return join(dest, out.trim().split('\n').pop()!);
}
