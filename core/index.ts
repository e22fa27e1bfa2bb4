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
  FingerprintPaths,
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
export { RESERVED_NAMESPACES, namespaceOfPackage, namespaceOfType, pluginNamespaces } from './plugin/namespaces.ts';
export { NODE_DEFINITION, LOGGER, WORKSPACE, EXECUTION_SCOPE } from './plugin/tokens.ts';
export type { ExecutionScope, ScopedNode } from './engine/ExecutionScope.ts';
export { PROVIDER_CHOICES, isProviderChoice } from './graph/providers.ts';
export type { ProviderChoice } from './graph/providers.ts';
export { Rng } from './services/Rng.ts';
export { ArtifactStore } from './services/ArtifactStore.ts';
export { Workspace, WorkspacePathError, isInside } from './services/Workspace.ts';
export type { PathAccess, WorkspaceOptions } from './services/Workspace.ts';
export { createLogger, createConsoleLogger } from './services/Logger.ts';
export type { Logger, LogLevel } from './services/Logger.ts';
export { writeFileAtomic } from './util/writeFileAtomic.ts';
export { GRAPH_FORMAT, GRAPH_VERSION, linksOf } from './graph/GraphDocument.ts';
export type { GraphDocument, GraphNode, GraphUi, Link } from './graph/GraphDocument.ts';
export type { ValidationIssue, ValidationCode } from './graph/ValidationIssue.ts';
export { GraphValidationError, formatIssue, pointer } from './graph/ValidationIssue.ts';
export { parseGraph } from './graph/parseGraph.ts';
export type { ParsedGraph } from './graph/parseGraph.ts';
export { loadGraphFile } from './graph/loadGraphFile.ts';
export { migrateGraph } from './graph/migrateGraph.ts';
export { validateGraph } from './graph/validateGraph.ts';
export { validatePaths } from './graph/validatePaths.ts';
export { applyOverrides } from './graph/applyOverrides.ts';
export { NodeRegistry } from './plugin/NodeRegistry.ts';
export type { NodeDescription } from './plugin/describeNode.ts';
export { Engine, createEngine } from './engine/Engine.ts';
export type { EngineOptions, PluginRecord, PluginSource } from './engine/Engine.ts';
export type { RunOptions } from './engine/executeRun.ts';
export type { ExecutionEvent, ExecutionEventType, EventOf, NodeErrorInfo } from './engine/events.ts';
export { isTerminalEvent } from './engine/events.ts';
export { collectRun } from './engine/collectRun.ts';
export { portValueProblem } from './engine/checkPorts.ts';
export type { RunSummary } from './engine/collectRun.ts';
export { planRun } from './engine/planRun.ts';
export type { RunPlan, PlannedNode } from './engine/planRun.ts';
export { cacheKey } from './engine/cacheKey.ts';
export { NodeCache } from './engine/NodeCache.ts';
export { Channel } from './engine/Channel.ts';
export { summarizeValue, toWireValue } from './util/summarizeValue.ts';
export { canonicalJson } from './util/canonicalJson.ts';
export { ENGINE_API_VERSION } from './version.ts';
export { discoverPlugins, CONFIG_FILE } from './loader/discoverPlugins.ts';
export type { PluginCandidate } from './loader/discoverPlugins.ts';
export { loadPlugins } from './loader/loadPlugins.ts';
export { createTsWorker } from './loader/createTsWorker.ts';
export { checkManifest } from './loader/readManifest.ts';
export type { PluginManifest, PluginPackageJson } from './loader/readManifest.ts';
/** inversify, re-exported so plugins that bind services need no import of their own. */
export { ContainerModule, injectable, inject, multiInject } from 'inversify';
export type { ContainerModuleLoadOptions, ServiceIdentifier } from 'inversify';
