import { ContainerModule, type ContainerModuleLoadOptions } from 'inversify';
import type { AnyNodeDefinition } from './NodeDefinition.ts';
import { NODE_DEFINITION } from './tokens.ts';

/** A plugin as the engine loads it: a name, its node types and one inversify ContainerModule. */
export interface TesseraPlugin {
  readonly name: string;
  readonly version: string;
  readonly nodes: readonly AnyNodeDefinition[];
  /** Extra node-type namespaces it owns, beyond its package name's (see docs/plugins.md). */
  readonly namespaces?: readonly string[];
  /** Binds the nodes under {@link NODE_DEFINITION} and any services the plugin provides. */
  readonly module: ContainerModule;
}

export interface PluginSpec {
  readonly name: string;
  readonly version: string;
  readonly nodes: readonly AnyNodeDefinition[];
  /**
   * Node-type namespaces the plugin owns besides the one its package name gives
   * (`tessera-plugin-blur` → `blur`). Another plugin's types in them are refused at load.
   */
  readonly namespaces?: readonly string[];
  /** Binds extra services (e.g. a tensor runtime) that nodes resolve with `ctx.get(token)`. */
  readonly services?: (options: ContainerModuleLoadOptions) => void;
}

/**
 * Wraps node definitions (and optional services) into a plugin.
 *
 * @example
 * export default definePlugin({ name: 'math', version: '1.0.0', nodes: [Add] });
 */
export function definePlugin(spec: PluginSpec): TesseraPlugin {
  const module = new ContainerModule((options) => {
    for (const node of spec.nodes) options.bind(NODE_DEFINITION).toConstantValue(node);
    spec.services?.(options);
  });
  return { name: spec.name, version: spec.version, nodes: spec.nodes, ...(spec.namespaces ? { namespaces: spec.namespaces } : {}), module };
}
