import type { Engine, PluginRecord } from '../engine/Engine.ts';
import type { PluginCandidate } from './discoverPlugins.ts';
import { checkManifest } from './readManifest.ts';
import { importPlugin } from './importPlugin.ts';
import { registerTesseraResolution } from './registerTesseraResolution.ts';

/**
 * Checks and loads discovered plugins into an engine, one at a time, isolating failures: an
 * incompatible engine range is refused with the plugin's name, its range and the engine's
 * version; a plugin that throws while importing or loading is recorded as failed and the others
 * still load. Returns one record per candidate (also kept in `engine.plugins`).
 */
export async function loadPlugins(engine: Engine, candidates: readonly PluginCandidate[]): Promise<PluginRecord[]> {
  const records: PluginRecord[] = [];
  const seen = new Map<string, string>();
  for (const c of candidates) {
    const name = c.pkg?.name ?? c.dir;
    const version = c.pkg?.version ?? '?';
    const base = { name, version, source: c.source, path: c.dir, nodes: [] as string[] };
    if (c.error || !c.pkg) {
      records.push(engine.recordPlugin({ ...base, status: 'failed', problems: [c.error ?? 'unreadable'] }));
      continue;
    }
    if (seen.has(name)) {
      records.push(engine.recordPlugin({ ...base, status: 'refused', problems: [`plugin ${name} is already loaded from ${seen.get(name)}`] }));
      continue;
    }
    const checked = checkManifest(c.pkg);
    if ('refused' in checked) {
      records.push(engine.recordPlugin({ ...base, status: 'refused', problems: [checked.refused] }));
      continue;
    }
    registerTesseraResolution();
    try {
      const plugin = await importPlugin(c.dir, c.pkg, checked.manifest);
      records.push(await engine.loadPlugin(plugin, { source: c.source, path: c.dir }));
      seen.set(name, c.dir);
    } catch (error) {
      records.push(engine.recordPlugin({ ...base, status: 'failed', problems: [`threw while importing: ${(error as Error).message}`] }));
    }
  }
  return records;
}
