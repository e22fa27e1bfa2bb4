import type { Engine } from '../engine/Engine.ts';
import { createEngine } from '../engine/Engine.ts';
import type { CliIo } from './CliIo.ts';

/**
 * Loads the engine with the built-in plugins plus those found in tessera.config.json, `--plugin`
 * folders and node_modules. Only commands that need it call this, so `--help` stays fast.
 */
export async function loadEngine(pluginPaths: readonly string[], io: CliIo, quiet = false): Promise<Engine> {
  const { builtinPlugins } = await import('../../plugins/index.ts');
  const { discoverPlugins } = await import('../loader/discoverPlugins.ts');
  const { loadPlugins } = await import('../loader/loadPlugins.ts');
  const engine = await createEngine({ plugins: builtinPlugins });
  await loadPlugins(engine, discoverPlugins({ cwd: process.cwd(), paths: pluginPaths }));
  if (!quiet) for (const p of engine.plugins) if (p.status !== 'loaded' || p.problems.length) io.stderr.write(`warning: plugin ${p.name} ${p.status === 'loaded' ? 'loaded with problems' : p.status}: ${p.problems.join('; ')}\n`);
  return engine;
}
