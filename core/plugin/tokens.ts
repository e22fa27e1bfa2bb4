import type { ServiceIdentifier } from 'inversify';
import type { AnyNodeDefinition } from './NodeDefinition.ts';
import type { Logger } from '../services/Logger.ts';
import type { Workspace } from '../services/Workspace.ts';
import type { ExecutionScope } from '../engine/ExecutionScope.ts';

/** Multi-injection token: every plugin binds its node definitions here. */
export const NODE_DEFINITION: ServiceIdentifier<AnyNodeDefinition> = Symbol.for('tessera.NodeDefinition');
/** The engine-wide logger. */
export const LOGGER: ServiceIdentifier<Logger> = Symbol.for('tessera.Logger');
/** The folder a graph's paths must stay inside (see {@link Workspace}); bound by the engine. */
export const WORKSPACE: ServiceIdentifier<Workspace> = Symbol.for('tessera.Workspace');
/** Multi-injection token: wrappers around every node call (see {@link ExecutionScope}); none bound is fine. */
export const EXECUTION_SCOPE: ServiceIdentifier<ExecutionScope> = Symbol.for('tessera.ExecutionScope');
