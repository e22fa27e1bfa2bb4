import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ContainerModule } from 'inversify';
import type { TesseraPlugin } from '../plugin/definePlugin.ts';
import type { PluginManifest, PluginPackageJson } from './readManifest.ts';

/**
 * Imports a plugin's entry module and returns it as a {@link TesseraPlugin}. The entry's default
 * export (or a named `plugin` export) may be a `definePlugin(...)` result, a bare inversify
 * ContainerModule, or a function returning either.
 */
export async function importPlugin(dir: string, pkg: PluginPackageJson, manifest: PluginManifest): Promise<TesseraPlugin> {
  const entry = [manifest.entry, pkg.main, 'index.ts', 'index.js', 'index.mjs'].find((e) => e && existsSync(join(dir, e)));
  if (!entry) throw new Error(`no entry module: set "tessera.entry" or "main", or add index.ts (looked in ${dir})`);
  const mod = (await import(pathToFileURL(join(dir, entry)).href)) as Record<string, unknown>;
  let value = mod.default ?? mod.plugin;
  if (typeof value === 'function' && !(value instanceof ContainerModule)) value = await (value as () => unknown)();
  const name = pkg.name ?? dir;
  const version = pkg.version ?? '0.0.0';
  if (value instanceof ContainerModule || isContainerModuleLike(value)) return { name, version, nodes: [], module: value as ContainerModule };
  const p = value as Partial<TesseraPlugin> | undefined;
  if (p && typeof p === 'object' && p.module && isContainerModuleLike(p.module)) return { name, version, nodes: p.nodes ?? [], module: p.module };
  throw new Error(`${entry} must export a definePlugin(...) result or an inversify ContainerModule as its default export`);
}

// A plugin may bring its own copy of inversify; `instanceof` then fails, so recognise the shape.
function isContainerModuleLike(value: unknown): boolean {
  return !!value && typeof value === 'object' && typeof (value as { load?: unknown }).load === 'function' && typeof (value as { id?: unknown }).id === 'number';
}
