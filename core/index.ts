/**
 * tessera's public API: everything a plugin, a host (CLI, server, editor) or a test may use.
 * Plugins import from `'tessera'` only; the folders behind this barrel are internal.
 *
 * @packageDocumentation
 */
export { PortTypes, isPortCompatible, splitPortType } from './plugin/portTypes.ts';
export type { PortType, PortTypeMap, PortValue, ImageValue } from './plugin/portTypes.ts';
export type {
  NodeDefinition,
  AnyNodeDefinition,
  InputSpec,
  OutputSpec,
  CachePolicy,
  ExecuteContext,
  ExecuteResult,
  ProgressReporter,
  InputsOf,
  OutputsOf,
} from './plugin/NodeDefinition.ts';
export type { JsonSchema, ParamsOf } from './plugin/jsonSchema.ts';
export { defineNode } from './plugin/defineNode.ts';
export { definePlugin } from './plugin/definePlugin.ts';
export type { TesseraPlugin, PluginSpec } from './plugin/definePlugin.ts';
export { NODE_DEFINITION, LOGGER } from './plugin/tokens.ts';
export { Rng } from './services/Rng.ts';
export { ArtifactStore } from './services/ArtifactStore.ts';
export { createLogger, createConsoleLogger } from './services/Logger.ts';
export type { Logger, LogLevel } from './services/Logger.ts';
export { writeFileAtomic } from './util/writeFileAtomic.ts';
