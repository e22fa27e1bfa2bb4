import type { Engine } from '../engine/Engine.ts';
import type { WorkspaceOptions } from '../services/Workspace.ts';
import type { CliIo } from './CliIo.ts';

/**
 * How the CLI gets its engine. core/ knows no plugins: the composition root (app/) passes a
 * loader that adds the built-ins and the discovered plugins.
 */
export type EngineLoader = (options: {
  /** `--plugin` folders. */
  readonly pluginPaths: readonly string[];
  readonly io: CliIo;
  /** No warnings about plugins (the `plugins` command reports them itself). */
  readonly quiet?: boolean;
  readonly workspace?: WorkspaceOptions;
}) => Promise<Engine>;
