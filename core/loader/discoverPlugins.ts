import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { PluginSource } from '../engine/Engine.ts';
import type { PluginPackageJson } from './readManifest.ts';

/** A plugin found on disk, not yet checked or imported. */
export interface PluginCandidate {
  readonly source: Exclude<PluginSource, 'builtin' | 'api'>;
  readonly dir: string;
  readonly pkg?: PluginPackageJson;
  /** Why the candidate cannot even be read. */
  readonly error?: string;
}

/** The config file the CLI and server read from the working directory. */
export const CONFIG_FILE = 'tessera.config.json';

/**
 * Finds plugins: folders listed in `tessera.config.json` (`{ "plugins": ["./path", …] }`), folders
 * given with `--plugin`, and packages in `node_modules` whose package.json has a `tessera` field
 * and the keyword `tessera-plugin`. Reads package.json files only; imports nothing.
 */
export function discoverPlugins(options: { cwd: string; paths?: readonly string[]; scanNodeModules?: boolean }): PluginCandidate[] {
  const found: PluginCandidate[] = [];
  const configPath = join(options.cwd, CONFIG_FILE);
  if (existsSync(configPath)) {
    let config: { plugins?: unknown };
    try {
      config = JSON.parse(readFileSync(configPath, 'utf8')) as { plugins?: unknown };
    } catch (error) {
      found.push({ source: 'config', dir: configPath, error: `${CONFIG_FILE} is not valid JSON: ${(error as Error).message}` });
      config = {};
    }
    if (config.plugins !== undefined && (!Array.isArray(config.plugins) || !config.plugins.every((p) => typeof p === 'string'))) {
      found.push({ source: 'config', dir: configPath, error: `${CONFIG_FILE}: "plugins" must be a list of folder paths` });
    } else for (const p of (config.plugins as string[] | undefined) ?? []) found.push(readCandidate('config', resolve(dirname(configPath), p)));
  }
  for (const p of options.paths ?? []) found.push(readCandidate('flag', isAbsolute(p) ? p : resolve(options.cwd, p)));
  if (options.scanNodeModules !== false) found.push(...scanNodeModules(join(options.cwd, 'node_modules')));
  return found;
}

function readCandidate(source: PluginCandidate['source'], dir: string): PluginCandidate {
  if (!existsSync(dir)) return { source, dir, error: `plugin folder not found: ${dir}` };
  if (!statSync(dir).isDirectory()) return { source, dir, error: `expected a plugin folder with a package.json, got a file: ${dir}` };
  const pkgPath = join(dir, 'package.json');
  if (!existsSync(pkgPath)) return { source, dir, error: `no package.json in ${dir}` };
  try {
    return { source, dir, pkg: JSON.parse(readFileSync(pkgPath, 'utf8')) as PluginPackageJson };
  } catch (error) {
    return { source, dir, error: `${pkgPath} is not valid JSON: ${(error as Error).message}` };
  }
}

function scanNodeModules(root: string): PluginCandidate[] {
  if (!existsSync(root)) return [];
  const dirs: string[] = [];
  for (const name of readdirSync(root)) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@')) for (const sub of safeReaddir(join(root, name))) dirs.push(join(root, name, sub));
    else dirs.push(join(root, name));
  }
  const out: PluginCandidate[] = [];
  for (const dir of dirs) {
    const pkgPath = join(dir, 'package.json');
    if (!existsSync(pkgPath)) continue;
    let pkg: PluginPackageJson;
    try {
      pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as PluginPackageJson;
    } catch {
      continue; // not ours to judge: only packages that declare themselves plugins are reported
    }
    if (pkg.tessera !== undefined && pkg.keywords?.includes('tessera-plugin')) out.push({ source: 'npm', dir, pkg });
  }
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return []; // no node_modules (or an unreadable one): simply no npm plugins to discover there
  }
}
