import { builtinPlugins } from '../plugins/index.ts';
import { createEngine, type Engine } from '../core/engine/Engine.ts';
import { discoverPlugins } from '../core/loader/discoverPlugins.ts';
import { loadPlugins } from '../core/loader/loadPlugins.ts';
import { Workspace } from '../core/services/Workspace.ts';
import type { EngineLoader } from '../core/cli/EngineLoader.ts';

/**
 * The engine the CLI and the server run: the built-in plugins plus those found in
 * tessera.config.json, `--plugin` folders and node_modules, with the working directory as the
 * workspace. The one place that wires plugins into the engine.
 */
export const loadEngine: EngineLoader = async ({ pluginPaths, io, quiet = false, workspace = {} }): Promise<Engine> => {
  const engine = await createEngine({ plugins: builtinPlugins, workspace: new Workspace(process.cwd(), workspace) });
  await loadPlugins(engine, discoverPlugins({ cwd: process.cwd(), paths: pluginPaths }));
  if (!quiet) for (const p of engine.plugins) if (p.status !== 'loaded' || p.problems.length) io.stderr.write(`warning: plugin ${p.name} ${p.status === 'loaded' ? 'loaded with problems' : p.status}: ${p.problems.join('; ')}\n`);
  return engine;
};
