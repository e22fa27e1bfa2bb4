import type { Engine } from '../engine/Engine.ts';
import { createEngine } from '../engine/Engine.ts';
import type { CliIo } from './CliIo.ts';
import { Workspace, type WorkspaceOptions } from '../services/Workspace.ts';

/**
 * Loads the engine with the built-in plugins plus those found in tessera.config.json, `--plugin`
 * folders and node_modules. Only commands that need it call this, so `--help` stays fast. The
 * workspace is the working directory; `workspace.allowOutside` lifts its boundary.
 */
export async function loadEngine(pluginPaths: readonly string[], io: CliIo, quiet = false, workspace: WorkspaceOptions = {}): Promise<Engine> {
  const { builtinPlugins } = await import('../../plugins/index.ts');
  const { discoverPlugins } = await import('../loader/discoverPlugins.ts');
  const { loadPlugins } = await import('../loader/loadPlugins.ts');
  const engine = await createEngine({ plugins: builtinPlugins, workspace: new Workspace(process.cwd(), workspace) });
  await loadPlugins(engine, discoverPlugins({ cwd: process.cwd(), paths: pluginPaths }));
  if (!quiet) for (const p of engine.plugins) if (p.status !== 'loaded' || p.problems.length) io.stderr.write(`warning: plugin ${p.name} ${p.status === 'loaded' ? 'loaded with problems' : p.status}: ${p.problems.join('; ')}\n`);
  return engine;
}
