import type { GraphDocument, GraphNode, GraphUi, Link, UiNode } from './types.ts';

/**
 * What the editor knows about one node when writing the file: enough to reproduce the original
 * node exactly when nothing changed (key order, the single-link form of a list input, params left
 * at their defaults staying absent), and to write only what the user changed otherwise.
 */
export interface NodeSnapshot {
  id: string;
  type: string;
  /** Shown title; written when it differs from the type's title or the file had one. */
  title: string;
  defaultTitle: string;
  params: Record<string, unknown>;
  /** Input name → links in slot order. */
  inputs: Record<string, Link[]>;
  /** Inputs that take several links. */
  listInputs: Set<string>;
  disabled: boolean;
  /**
   * The node's `provider` pin as the file or the user set it (absent: the run's / graph's setting).
   * Kept as read, so a value this editor does not know is written back, not lost.
   */
  provider?: unknown;
  pos: [number, number];
  size: [number, number];
  /** Size set by the user (resized) — else the editor's own size is not layout worth saving. */
  sized: boolean;
  moved: boolean;
  collapsed: boolean;
  color?: string;
  bgcolor?: string;
  /** The node and ui entry as read from the file, if it came from one. */
  origin?: { node: GraphNode; ui?: UiNode };
}

/** The canvas state relevant to the file. */
export interface ViewSnapshot {
  offset: [number, number];
  scale: number;
  changed: boolean;
  groups?: GraphUi['groups'];
}

/**
 * Builds the canonical graph file from the editor's nodes, starting from the document it loaded
 * (so top-level fields, unknown keys and the `ui` block's extras survive). Pure.
 */
export function buildDocument(base: GraphDocument | undefined, nodes: readonly NodeSnapshot[], view: ViewSnapshot): GraphDocument {
  const doc: Record<string, unknown> = {};
  const template: Record<string, unknown> = base ?? { format: 'tessera-graph', version: 1, nodes: {} };
  for (const [k, v] of Object.entries(template)) doc[k] = k === 'nodes' || k === 'ui' ? undefined : structuredClone(v);
  doc.format = 'tessera-graph';
  doc.version = 1;
  // Original nodes keep their order; new ones follow.
  const ordered = [...nodes].sort((a, b) => order(base, a.id) - order(base, b.id));
  const outNodes: Record<string, GraphNode> = {};
  const uiNodes: Record<string, UiNode> = {};
  for (const n of ordered) {
    outNodes[n.id] = buildNode(n);
    const ui = buildUi(n);
    if (ui) uiNodes[n.id] = ui;
  }
  doc.nodes = outNodes;
  const ui: Record<string, unknown> = base?.ui ? structuredClone(base.ui) : {};
  if (Object.keys(uiNodes).length || base?.ui?.nodes) ui.nodes = uiNodes;
  else delete ui.nodes;
  if (view.groups && (view.groups.length || base?.ui?.groups)) ui.groups = view.groups;
  else if (!view.groups) delete ui.groups;
  if (view.changed || base?.ui?.viewport) ui.viewport = { offset: [round(view.offset[0]), round(view.offset[1])], scale: Math.round(view.scale * 1000) / 1000 };
  if (Object.keys(ui).length) doc.ui = ui;
  for (const k of Object.keys(doc)) if (doc[k] === undefined) delete doc[k];
  return doc as GraphDocument;
}

function order(base: GraphDocument | undefined, id: string): number {
  if (!base) return Number.MAX_SAFE_INTEGER;
  const i = Object.keys(base.nodes).indexOf(id);
  return i < 0 ? Number.MAX_SAFE_INTEGER : i;
}

function buildNode(n: NodeSnapshot): GraphNode {
  const o = n.origin?.node;
  const fields: Record<string, unknown> = {};
  fields.type = n.type;
  if (n.title !== n.defaultTitle || (o && 'title' in o)) fields.title = n.title;
  if (Object.keys(n.params).length || (o && 'params' in o)) fields.params = structuredClone(n.params);
  const inputs: Record<string, Link | Link[]> = {};
  const origInputs = (o?.inputs ?? {}) as Record<string, Link | Link[]>;
  const names = [...Object.keys(origInputs).filter((k) => k in n.inputs), ...Object.keys(n.inputs).filter((k) => !(k in origInputs))];
  for (const name of names) {
    const links = n.inputs[name]!;
    if (!links.length) continue;
    const wasSingle = name in origInputs && !Array.isArray(origInputs[name]);
    inputs[name] = n.listInputs.has(name) && !(wasSingle && links.length === 1) ? links.map((l) => ({ node: l.node, output: l.output })) : { node: links[0]!.node, output: links[0]!.output };
  }
  if (Object.keys(inputs).length || (o && 'inputs' in o)) fields.inputs = inputs;
  if (n.disabled || (o && 'disabled' in o)) fields.disabled = n.disabled;
  if (n.provider !== undefined) fields.provider = structuredClone(n.provider);
  if (!o) return fields as GraphNode;
  // Same key order as the file; keys the editor does not know are kept as they were.
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    if (k in fields) out[k] = fields[k];
    else if (!['type', 'title', 'params', 'inputs', 'disabled', 'provider'].includes(k)) out[k] = structuredClone(o[k]);
  }
  for (const [k, v] of Object.entries(fields)) if (!(k in out)) out[k] = v;
  return out as GraphNode;
}

function buildUi(n: NodeSnapshot): UiNode | undefined {
  const o = n.origin?.ui;
  const entry: Record<string, unknown> = o ? structuredClone(o) : {};
  if (o?.pos || n.moved || !n.origin) entry.pos = [round(n.pos[0]), round(n.pos[1])];
  if (o?.size || n.sized) entry.size = [round(n.size[0]), round(n.size[1])];
  if (n.collapsed || o?.collapsed !== undefined) entry.collapsed = n.collapsed;
  for (const k of ['color', 'bgcolor'] as const) {
    if (n[k] !== undefined) entry[k] = n[k];
    else delete entry[k];
  }
  return Object.keys(entry).length ? (entry as UiNode) : undefined;
}

function round(v: number): number {
  return Math.round(v);
}

/** Deep equality for JSON values (key order ignored), used to tell whether the graph changed. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * The document with its top-level `seed` set (in place of the old one, else before `nodes`) or,
 * for undefined, removed. Pure.
 */
export function withSeed(doc: GraphDocument, seed: number | undefined): GraphDocument {
  return withTopLevel(doc, 'seed', seed);
}

/**
 * The document with its top-level `provider` (the graph's default execution provider) set in
 * place of the old one, else before `nodes`; undefined removes it. Pure.
 */
export function withProvider(doc: GraphDocument, provider: unknown): GraphDocument {
  return withTopLevel(doc, 'provider', provider);
}

/** One top-level field set in place (new: before `nodes`) or, for undefined, removed; the same document when unchanged. */
function withTopLevel(doc: GraphDocument, key: string, value: unknown): GraphDocument {
  if (jsonEqual(doc[key], value) && (value !== undefined || !(key in doc))) return doc;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (k === key) {
      if (value !== undefined) out[key] = value;
      continue;
    }
    if (k === 'nodes' && value !== undefined && !(key in doc)) out[key] = value;
    out[k] = v;
  }
  return out as GraphDocument;
}
