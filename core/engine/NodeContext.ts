import type { ServiceIdentifier } from 'inversify';
import type { ExecuteContext, ProgressReporter } from '../plugin/NodeDefinition.ts';
import type { Logger } from '../services/Logger.ts';
import { createLogger } from '../services/Logger.ts';
import { Rng } from '../services/Rng.ts';
import { hashString32 } from '../util/hash.ts';
import type { ArtifactStore } from '../services/ArtifactStore.ts';
import { WORKSPACE } from '../plugin/tokens.ts';
import type { GraphDocument } from '../graph/GraphDocument.ts';

/** What a node context reports to and draws from: one per run. */
export interface ContextHost {
  emit(event: { type: 'node:progress' | 'node:log'; nodeId: string; nodeType: string; [k: string]: unknown }): void;
  readonly logger: Logger;
  /** Echo node warnings and errors to `logger` too (off where the consumer prints the events itself, e.g. the CLI). */
  readonly echoNodeLogs?: boolean;
  readonly signal: AbortSignal;
  readonly artifacts: ArtifactStore;
  /** The document being run (seed = the run's), for ExecuteContext.graph. */
  readonly graph?: Readonly<GraphDocument>;
  get<T>(token: ServiceIdentifier<T>): T;
}

/**
 * The `ctx` a node's `execute` receives. Its functions (progress, log, rng, get) are made on
 * first use: most nodes touch few of them, and a graph of 10,000 nodes would otherwise build
 * tens of thousands of closures per run. They are own properties once made, so destructuring
 * `({ progress, rng })` works.
 */
export class NodeContext implements ExecuteContext {
  readonly #host: ContextHost;
  readonly #seedBase: number;
  readonly #seedKey: string | number;
  #drewRng = false;
  readonly #nodeType: string;
  #rng: Rng | undefined;
  #log: Logger | undefined;
  #progress: ProgressReporter | undefined;
  #resolvePath: ((path: string, access: 'read' | 'write') => Promise<string>) | undefined;

  /** The rng's seed is hashString32(`${seedBase}:${seedKey}`), hashed only if the node draws. */
  constructor(host: ContextHost, readonly nodeId: string, nodeType: string, readonly inputs: Record<string, any>, readonly params: Record<string, any>, seedBase: number, seedKey: string | number) {
    this.#host = host;
    this.#nodeType = nodeType;
    this.#seedBase = seedBase;
    this.#seedKey = seedKey;
  }

  get signal(): AbortSignal {
    return this.#host.signal;
  }

  get artifacts(): ArtifactStore {
    return this.#host.artifacts;
  }

  get graph(): Readonly<GraphDocument> | undefined {
    return this.#host.graph;
  }

  /** Whether the node asked for `rng` (its result then depends on the run seed). Not part of ExecuteContext. */
  get drewRng(): boolean {
    return this.#drewRng;
  }

  get rng(): Rng {
    this.#drewRng = true;
    return (this.#rng ??= new Rng(hashString32(`${this.#seedBase}:${this.#seedKey}`)));
  }

  get progress(): ProgressReporter {
    return (this.#progress ??= (value, max, message, preview) =>
      this.#host.emit({ type: 'node:progress', nodeId: this.nodeId, nodeType: this.#nodeType, value, ...(max !== undefined ? { max } : {}), ...(message !== undefined ? { message } : {}), ...(preview !== undefined ? { preview } : {}) }));
  }

  get log(): Logger {
    return (this.#log ??= createLogger((level, message, fields) => {
      this.#host.emit({ type: 'node:log', nodeId: this.nodeId, nodeType: this.#nodeType, level, message, ...(fields ? { fields } : {}) });
      if ((level === 'warn' || level === 'error') && this.#host.echoNodeLogs !== false) this.#host.logger[level](`[${this.nodeId}] ${message}`, fields);
    }, 'debug'));
  }

  get resolvePath(): (path: string, access: 'read' | 'write') => Promise<string> {
    return (this.#resolvePath ??= (path, access) => this.#host.get(WORKSPACE).with({ writable: [this.#host.artifacts.dir] }).resolve(path, access));
  }

  get get(): <T>(token: ServiceIdentifier<T>) => T {
    return (token) => this.#host.get(token);
  }
}
