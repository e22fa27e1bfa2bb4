import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ContainerModule } from 'inversify';
import type { TesseraPlugin } from '../plugin/definePlugin.ts';
import type { PluginManifest, PluginPackageJson } from './readManifest.ts';

/**
 * Imports a plugin's entry module and returns it as a {@link TesseraPlugin}. The entry's default
 * export (or a named `plugin` export) may be a `definePlugin(...)` result, a bare inversify
 * ContainerModule, or a function returning either. Each way this can go wrong throws its own
 * message (missing entry file, missing dependency, no default export, a throwing module).
 */
export async function importPlugin(dir: string, pkg: PluginPackageJson, manifest: PluginManifest): Promise<TesseraPlugin> {
  const entry = findEntry(dir, pkg, manifest);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(join(dir, entry)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(describeImportError(error, entry, dir));
  }
  let value = mod.default ?? mod.plugin;
  if (value === undefined) throw new Error(`${entry} has no default export: end it with \`export default definePlugin({ … })\``);
  if (typeof value === 'function' && !(value instanceof ContainerModule)) value = await (value as () => unknown)();
  const name = pkg.name ?? dir;
  const version = pkg.version ?? '0.0.0';
  if (value instanceof ContainerModule || isContainerModuleLike(value)) return { name, version, nodes: [], module: value as ContainerModule };
  const p = value as Partial<TesseraPlugin> | undefined;
  if (p && typeof p === 'object' && p.module && isContainerModuleLike(p.module)) {
    return { name, version, nodes: p.nodes ?? [], ...(p.namespaces !== undefined ? { namespaces: p.namespaces } : {}), module: p.module };
  }
  throw new Error(`${entry}'s default export must be a definePlugin(...) result or an inversify ContainerModule, got ${describeValue(value)}`);
}

/** The entry file: `tessera.entry` when set (it must exist), else `main`, else index.ts/js/mjs. */
function findEntry(dir: string, pkg: PluginPackageJson, manifest: PluginManifest): string {
  if (manifest.entry !== undefined) {
    if (!existsSync(join(dir, manifest.entry))) throw new Error(`"tessera.entry" names ${manifest.entry}, which does not exist in ${dir}`);
    return manifest.entry;
  }
  if (pkg.main !== undefined) {
    if (!existsSync(join(dir, pkg.main))) throw new Error(`"main" names ${pkg.main}, which does not exist in ${dir}`);
    return pkg.main;
  }
  const found = ['index.ts', 'index.js', 'index.mjs'].find((e) => existsSync(join(dir, e)));
  if (!found) throw new Error(`no entry module in ${dir}: add index.ts, or set "tessera.entry" in package.json`);
  return found;
}

/** A missing package is the plugin's undeclared dependency, not the engine's problem: say so. */
function describeImportError(error: unknown, entry: string, dir: string): string {
  const e = error as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const missing = e?.code === 'ERR_MODULE_NOT_FOUND' && /Cannot find package '([^']+)' imported from (.+)$/m.exec(message);
  if (missing) return `depends on package "${missing[1]}" (imported from ${missing[2]}), which is not installed for it: add it to the plugin's "dependencies" and run npm install in ${dir}`;
  return `threw while importing ${entry}: ${message}`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `an object with keys ${Object.keys(value as object).slice(0, 5).join(', ') || '(none)'}` : typeof value;
}

// A plugin may bring its own copy of inversify; `instanceof` then fails, so recognise the shape.
function isContainerModuleLike(value: unknown): boolean {
  return !!value && typeof value === 'object' && typeof (value as { load?: unknown }).load === 'function' && typeof (value as { id?: unknown }).id === 'number';
}
