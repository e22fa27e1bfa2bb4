import type { ProviderChoice } from './providers.ts';
/** The `format` tag every graph file carries. */
export const GRAPH_FORMAT = 'tessera-graph';
/** The format version this engine writes; older ones are migrated on load. */
export const GRAPH_VERSION = 1;

/** A link from another node's output port. */
export interface Link {
  readonly node: string;
  readonly output: string;
}

export interface GraphNode {
  /** Namespaced node type, e.g. `core/Add`. */
  readonly type: string;
  readonly title?: string;
  readonly params?: Record<string, unknown>;
  /** Input port → a link, or an array of links for `list` inputs. */
  readonly inputs?: Record<string, Link | readonly Link[]>;
  /** Muted: validated but not run (nor its descendants). */
  readonly disabled?: boolean;
  /** Execution provider for the sessions this node opens; wins over the run's and the graph's. */
  readonly provider?: ProviderChoice;
}

/** Editor layout; the executor never reads it. */
export interface GraphUi {
  readonly nodes?: Record<string, { pos?: [number, number]; size?: [number, number]; color?: string; bgcolor?: string; collapsed?: boolean }>;
  readonly groups?: readonly { title: string; bounding: [number, number, number, number]; color?: string }[];
  readonly viewport?: { offset?: [number, number]; scale?: number };
  readonly [key: string]: unknown;
}

/** The canonical graph file: runs headless, opens in the editor. */
export interface GraphDocument {
  readonly format: typeof GRAPH_FORMAT;
  readonly version: typeof GRAPH_VERSION;
  readonly name?: string;
  readonly description?: string;
  /** Default run seed (CLI `--seed` overrides). */
  readonly seed?: number;
  /** Default execution provider of the graph's nodes (CLI `--provider` and the HTTP run's `provider` override it). */
  readonly provider?: ProviderChoice;
  readonly metadata?: Record<string, unknown>;
  readonly nodes: Record<string, GraphNode>;
  readonly ui?: GraphUi;
}

/** The links of one input, as an array whatever its arity. */
export function linksOf(value: Link | readonly Link[] | undefined): readonly Link[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value as Link];
}
