import { Container } from 'inversify';
import { Observable } from 'rxjs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceIdentifier } from 'inversify';
import type { TesseraPlugin } from '../plugin/definePlugin.ts';
import type { AnyNodeDefinition } from '../plugin/NodeDefinition.ts';
import { NODE_DEFINITION, LOGGER, WORKSPACE, EXECUTION_SCOPE } from '../plugin/tokens.ts';
import { NodeRegistry } from '../plugin/NodeRegistry.ts';
import type { NodeDescription } from '../plugin/describeNode.ts';
import type { Logger } from '../services/Logger.ts';
import { createConsoleLogger } from '../services/Logger.ts';
import type { GraphDocument } from '../graph/GraphDocument.ts';
import { capIssues, type ValidationIssue } from '../graph/ValidationIssue.ts';
import { checkGraph } from '../graph/validateGraph.ts';
import type { CheckedGraph } from '../graph/validateSemantics.ts';
import { validatePaths } from '../graph/validatePaths.ts';
import { Workspace } from '../services/Workspace.ts';
import { NodeCache } from './NodeCache.ts';
import { planRun } from './planRun.ts';
import { executeRun, type RunOptions } from './executeRun.ts';
import type { ExecutionEvent } from './events.ts';

export interface EngineOptions {
  readonly plugins?: readonly TesseraPlugin[];
  /** Byte budget of the cross-run result cache (default 512 MiB). */
  readonly cacheBytes?: number;
  readonly logger?: Logger;
  /**
   * The folder every path a graph names must stay inside (default: the working directory,
   * boundary enforced). See {@link Engine.useWorkspace}.
   */
  readonly workspace?: Workspace;
}

/** Where a plugin came from. */
export type PluginSource = 'builtin' | 'config' | 'flag' | 'npm' | 'api';

/** What happened to one plugin: loaded (with its node types), refused (incompatible), or failed. */
export interface PluginRecord {
  readonly name: string;
  readonly version: string;
  readonly source: PluginSource;
  /** Folder or package it was loaded from. */
  readonly path?: string;
  readonly status: 'loaded' | 'refused' | 'failed';
  /** Node types it registered. */
  readonly nodes: readonly string[];
  /** Why it was refused or failed, or which of its nodes were rejected. */
  readonly problems: readonly string[];
}

/**
 * The engine: an inversify container holding the plugins' node definitions and services, the
 * node registry built from it, a result cache shared by the runs of this process, and `run`.
 *
 * @example
 * const engine = await createEngine({ plugins: builtinPlugins });
 * engine.run(graph, { seed: 1 }).subscribe((e) => console.log(e.type));
 */
export class Engine {
  readonly container: Container;
  readonly registry: NodeRegistry;
  readonly cache: NodeCache;
  readonly logger: Logger;
  /** Every plugin the engine was given, in load order, with what became of it. */
  readonly plugins: PluginRecord[] = [];
  #workspace: Workspace;

  private constructor(options: EngineOptions) {
    this.container = new Container({ defaultScope: 'Singleton' });
    this.registry = new NodeRegistry();
    this.cache = new NodeCache(options.cacheBytes);
    this.logger = options.logger ?? createConsoleLogger('warn');
    this.container.bind(LOGGER).toConstantValue(this.logger);
    this.#workspace = options.workspace ?? new Workspace(process.cwd());
    this.container.bind(WORKSPACE).toDynamicValue(() => this.#workspace).inTransientScope();
  }

  /** The boundary graphs' paths are checked against, in validation and when nodes use them. */
  get workspace(): Workspace {
    return this.#workspace;
  }

  /**
   * Sets the boundary for later validations and runs (the server sets its workspace; the CLI
   * lifts the boundary only for `--allow-outside-workspace`).
   */
  useWorkspace(workspace: Workspace): void {
    this.#workspace = workspace;
  }

  static async create(options: EngineOptions = {}): Promise<Engine> {
    const engine = new Engine(options);
    for (const plugin of options.plugins ?? []) await engine.loadPlugin(plugin, { source: 'builtin' });
    return engine;
  }

  /**
   * Loads one plugin's ContainerModule and registers the node definitions it bound. A plugin
   * that throws while loading is recorded as failed and leaves the engine as it was; a node
   * type that clashes with an earlier plugin's is rejected (naming both), the rest still load.
   */
  async loadPlugin(plugin: TesseraPlugin, origin: { source?: PluginSource; path?: string } = {}): Promise<PluginRecord> {
    const base = { name: plugin.name, version: plugin.version, source: origin.source ?? 'api', ...(origin.path ? { path: origin.path } : {}) };
    const before = new Set(this.#boundDefinitions());
    try {
      await this.container.loadAsync(plugin.module);
    } catch (error) {
      try {
        await this.container.unloadAsync(plugin.module);
      } catch {
        /* nothing bound */
      }
      return this.recordPlugin({ ...base, status: 'failed', nodes: [], problems: [`threw while loading: ${(error as Error).message}`] });
    }
    const added = this.#boundDefinitions().filter((d) => !before.has(d));
    const nodes: string[] = [];
    const problems: string[] = [];
    for (const def of added) {
      if (this.registry.register(def, plugin.name)) nodes.push(def.type);
      else problems.push(this.registry.problems[this.registry.problems.length - 1]!.message);
    }
    return this.recordPlugin({ ...base, status: 'loaded', nodes, problems });
  }

  /** Notes a plugin outcome decided elsewhere (e.g. refused by the loader before import). */
  recordPlugin(record: PluginRecord): PluginRecord {
    this.plugins.push(record);
    return record;
  }

  #boundDefinitions(): AnyNodeDefinition[] {
    return this.container.isBound(NODE_DEFINITION) ? this.container.getAll(NODE_DEFINITION) : [];
  }

  /**
   * Every problem with a graph document (schema, semantics, then paths outside the workspace);
   * empty when it may run.
   */
  validate(doc: unknown): ValidationIssue[] {
    return this.#check(doc).issues;
  }

  /** {@link validate}, plus what validation learned, for planRun, when there is no issue. */
  #check(doc: unknown): { issues: ValidationIssue[]; checked?: CheckedGraph } {
    const result = checkGraph(doc, this.registry);
    if (result.issues.length) return result;
    const issues = capIssues(validatePaths(doc as GraphDocument, this.registry, this.#workspace));
    return issues.length ? { issues } : result;
  }

  /** Node definitions as JSON (the editor's palette, `tessera nodes --json`). */
  describeNodes(): NodeDescription[] {
    return this.registry.describe();
  }

  get<T>(token: ServiceIdentifier<T>): T {
    return this.container.get(token);
  }

  /**
   * Validates and runs a graph. Returns a cold Observable: nothing runs until subscription, and
   * unsubscribing cancels. An invalid graph yields a single `run:failed` event listing every
   * issue, and no node runs.
   */
  run(doc: unknown, options: RunOptions = {}): Observable<ExecutionEvent> {
    return new Observable<ExecutionEvent>((subscriber) => {
      const runId = options.runId ?? randomUUID();
      const { issues, checked } = this.#check(doc);
      const graph = doc as GraphDocument;
      let plan;
      try {
        plan = checked ? planRun(graph, this.registry, options.targets, checked) : undefined;
      } catch (error) {
        issues.push({ code: 'invalid_override', pointer: '', message: (error as Error).message });
      }
      if (!plan) {
        subscriber.next({ type: 'run:failed', runId, seq: 0, t: 0, durationMs: 0, errors: [], issues });
        subscriber.complete();
        return;
      }
      const seed = options.seed ?? graph.seed ?? 0;
      const outDir = options.outDir ?? join(tmpdir(), 'tessera-runs', runId);
      const scopes = this.container.isBound(EXECUTION_SCOPE) ? this.container.getAll(EXECUTION_SCOPE) : [];
      return executeRun(plan, { cache: this.cache, logger: this.logger, get: (t) => this.container.get(t), scopes }, { ...options, seed, runId, outDir, graph: graph.seed === seed ? graph : { ...graph, seed }, ...(graph.name ? { graphName: graph.name } : {}) }).subscribe(subscriber);
    });
  }
}

/** Creates an engine with the given plugins loaded. */
export function createEngine(options: EngineOptions = {}): Promise<Engine> {
  return Engine.create(options);
}
