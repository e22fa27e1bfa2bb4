// Wire types of the server API (docs/api.md). The UI is bundled for the browser, so it mirrors
// these shapes instead of importing the engine's modules (which pull in Node built-ins).

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

export interface NodeRunState {
  state: 'queued' | 'running' | 'done' | 'cached' | 'error' | 'skipped';
  value?: number;
  max?: number;
  durationMs?: number;
  message?: string;
}

/** `interrupted`: the server stopped (killed, or a node ignored cancellation) before the run ended. */
export type RunStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';

export interface RunInfo {
  id: string;
  status: RunStatus;
  label?: string;
  graphName?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  position?: number;
  eventCount: number;
  nodes: Record<string, NodeRunState>;
  errors?: { nodeId: string; message: string; name: string }[];
}

/** An executor event in wire form (see core/engine/events.ts). */
export interface WireEvent {
  type: string;
  runId: string;
  seq: number;
  t: number;
  nodeId?: string;
  nodeType?: string;
  value?: number;
  max?: number;
  message?: string;
  outputs?: Record<string, unknown>;
  index?: number;
  durationMs?: number;
  cached?: boolean;
  error?: { message: string; name: string };
  reason?: string;
  level?: string;
  [key: string]: unknown;
}

export interface PreviewMessage {
  type: 'preview';
  runId: string;
  nodeId: string;
  port: string;
  index?: number;
  kind: 'image' | 'heatmap' | 'plot';
  width?: number;
  height?: number;
  min?: number;
  max?: number;
  values?: (number | null)[];
  length?: number;
  count?: number;
  src?: string;
  file?: string;
}

export type ServerMessage =
  | { type: 'status'; queue: { running: string[]; pending: string[] } }
  | { type: 'run'; run: RunInfo }
  | { type: 'event'; event: WireEvent }
  | { type: 'pong' }
  | PreviewMessage;
