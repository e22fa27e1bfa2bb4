import type { Engine, PluginRecord } from '../engine/Engine.ts';
import type { PluginCandidate } from './discoverPlugins.ts';
import { checkManifest } from './readManifest.ts';
import { importPlugin } from './importPlugin.ts';
import { registerTesseraResolution } from './registerTesseraResolution.ts';
import { namespaceOfPackage, pluginNamespaces } from '../plugin/namespaces.ts';

/**
 * Checks and loads discovered plugins into an engine, one at a time, isolating failures: an
 * incompatible engine range is refused with the plugin's name, its range and the engine's
 * version; a plugin whose namespaces are reserved or owned by another plugin is refused naming
 * both; a plugin that throws while importing or loading is recorded as failed and the others
 * still load. The same folder found twice (config and `--plugin`) loads once. Returns one record
 * per distinct candidate (also kept in `engine.plugins`).
 */
export async function loadPlugins(engine: Engine, candidates: readonly PluginCandidate[]): Promise<PluginRecord[]> {
  const records: PluginRecord[] = [];
  const seen = new Map<string, string>();
  const seenDirs = new Set<string>();
  // Each candidate's own namespace (from its package name) is its own before anything loads, so a
  // plugin declaring someone else's is refused whichever of the two loads first.
  const natural = new Map<string, string>();
  for (const c of candidates) if (c.pkg?.name && !natural.has(namespaceOfPackage(c.pkg.name))) natural.set(namespaceOfPackage(c.pkg.name), c.pkg.name);
  for (const c of candidates) {
    if (seenDirs.has(c.dir)) continue;
    seenDirs.add(c.dir);
    const name = c.pkg?.name ?? c.dir;
    const version = c.pkg?.version ?? '?';
    const base = { name, version, source: c.source, path: c.dir, nodes: [] as string[] };
    if (c.error || !c.pkg) {
      records.push(engine.recordPlugin({ ...base, status: 'failed', problems: [c.error ?? 'unreadable'] }));
      continue;
    }
    if (seen.has(name)) {
      records.push(engine.recordPlugin({ ...base, status: 'refused', problems: [`another copy of plugin ${name} is already loaded from ${seen.get(name)}`] }));
      continue;
    }
    const checked = checkManifest(c.pkg);
    if ('refused' in checked) {
      records.push(engine.recordPlugin({ ...base, status: 'refused', problems: [checked.refused] }));
      continue;
    }
    registerTesseraResolution();
    let plugin;
    try {
      plugin = await importPlugin(c.dir, c.pkg, checked.manifest);
    } catch (error) {
      records.push(engine.recordPlugin({ ...base, status: 'failed', problems: [(error as Error).message] }));
      continue;
    }
    const owned = pluginNamespaces(name, plugin.namespaces);
    const taken = 'error' in owned ? undefined : owned.namespaces.find((ns) => natural.has(ns) && natural.get(ns) !== name);
    const clash =
      'error' in owned
        ? `${name}: ${owned.error}`
        : taken !== undefined
          ? `namespace "${taken}" clash: plugin "${name}" claims it, but it belongs to plugin "${natural.get(taken)}" (its package name)`
          : engine.registry.claimNamespaces(name, owned.namespaces);
    if (clash) {
      records.push(engine.recordPlugin({ ...base, status: 'refused', problems: [clash] }));
      continue;
    }
    const record = await engine.loadPlugin(plugin, { source: c.source, path: c.dir });
    if (record.status !== 'loaded') engine.registry.releaseNamespaces(name);
    else seen.set(name, c.dir);
    records.push(record);
  }
  return records;
}
