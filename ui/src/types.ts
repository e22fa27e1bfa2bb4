// Wire types of the server API (docs/api.md). Run and message shapes are imported from
// core/wire (Node-free); the graph-file shapes below are the editor's own looser view.

import type { ProviderChoice } from './providers.ts';

/** A JSON Schema fragment as node params declare it. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  description?: string;
  title?: string;
  format?: string;
  items?: JsonSchema;
  'x-widget'?: string;
  'x-step'?: number;
  [key: string]: unknown;
}

export interface PortSpec {
  type: string;
  description?: string;
  optional?: boolean;
  list?: boolean;
  stream?: boolean;
}

/** One node type (`GET /api/nodes`, same as `tessera nodes --json`). */
export interface NodeDescription {
  type: string;
  title: string;
  category: string;
  description: string;
  version: string;
  plugin: string;
  inputs: Record<string, PortSpec>;
  outputs: Record<string, PortSpec>;
  params: JsonSchema;
  output: boolean;
  cache: string;
  deprecated: boolean;
  experimental: boolean;
}

export interface Link {
  node: string;
  output: string;
}

export interface GraphNode {
  type: string;
  title?: string;
  params?: Record<string, unknown>;
  inputs?: Record<string, Link | Link[]>;
  disabled?: boolean;
  /** Execution provider pin for the sessions this node opens (wins over the run's and graph's). */
  provider?: ProviderChoice;
  [key: string]: unknown;
}

export interface UiNode {
  pos?: [number, number];
  size?: [number, number];
  color?: string;
  bgcolor?: string;
  collapsed?: boolean;
  [key: string]: unknown;
}

export interface GraphUi {
  nodes?: Record<string, UiNode>;
  groups?: { title: string; bounding: [number, number, number, number]; color?: string; [key: string]: unknown }[];
  viewport?: { offset?: [number, number]; scale?: number };
  [key: string]: unknown;
}

/** The canonical graph file (the one `tessera run` runs). */
export interface GraphDocument {
  format: 'tessera-graph';
  version: number;
  name?: string;
  description?: string;
  seed?: number;
  /** The graph's default execution provider (a run's `provider` overrides it); absent: the default, cpu. */
  provider?: ProviderChoice;
  metadata?: Record<string, unknown>;
  nodes: Record<string, GraphNode>;
  ui?: GraphUi;
  [key: string]: unknown;
}

export interface ValidationIssue {
  code: string;
  message: string;
  pointer: string;
  nodeId?: string;
}

// Run and message shapes come from the server's own module (Node-free), not a copy.
import type { NodeState, ServerMessage as WireServerMessage, WireEvent } from '../../core/wire/runs.ts';

export type { NodeErrorInfo, PreviewMessage, RunInfo, RunStatus, WireEvent } from '../../core/wire/runs.ts';
export type NodeRunState = NodeState;
export type ServerMessage = WireServerMessage<WireEvent>;
