import { GRAPH_FORMAT, GRAPH_VERSION } from './GraphDocument.ts';

/**
 * Brings an older graph file up to {@link GRAPH_VERSION}. Pure: returns a new object and the
 * versions it passed through; unknown future versions are returned untouched (the schema check
 * then reports them).
 *
 * Version 0 (the pre-release format) held nodes as an array `[{ id, type, params, inputs }]` with
 * links as `[nodeId, outputName]` pairs, ComfyUI-style, and layout inline as `pos` on each node.
 */
/** Result of {@link migrateGraph}: pointers of v0 nodes whose id repeated an earlier one. */
export interface Migration {
  graph: unknown;
  migratedFrom?: number;
  duplicateIds: string[];
}

export function migrateGraph(input: unknown): Migration {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return { graph: input, duplicateIds: [] };
  const doc = input as Record<string, unknown>;
  const version = doc.version ?? (Array.isArray(doc.nodes) ? 0 : undefined);
  if (version !== 0) return { graph: input, duplicateIds: [] };
  const duplicateIds: string[] = [];
  return { graph: migrateV0(doc, duplicateIds), migratedFrom: 0, duplicateIds };
}

function migrateV0(doc: Record<string, unknown>, duplicateIds: string[]): Record<string, unknown> {
  const nodes: Record<string, unknown> = {};
  const uiNodes: Record<string, unknown> = {};
  const list = Array.isArray(doc.nodes) ? doc.nodes : [];
  for (const [index, raw] of list.entries()) {
    if (!raw || typeof raw !== 'object') continue;
    const { id, pos, inputs, ...rest } = raw as Record<string, unknown>;
    const key = String(id);
    const links: Record<string, unknown> = {};
    for (const [port, link] of Object.entries((inputs as Record<string, unknown>) ?? {})) {
      links[port] = Array.isArray(link) && link.length === 2 && typeof link[1] === 'string' ? { node: String(link[0]), output: link[1] } : link;
    }
    if (key in nodes) {
      duplicateIds.push(`/nodes/${index}`);
      continue;
    }
    nodes[key] = { ...rest, ...(Object.keys(links).length ? { inputs: links } : {}) };
    if (Array.isArray(pos)) uiNodes[key] = { pos };
  }
  const { nodes: _n, version: _v, format: _f, ...meta } = doc;
  return {
    format: GRAPH_FORMAT,
    version: GRAPH_VERSION,
    ...meta,
    nodes,
    ...(Object.keys(uiNodes).length ? { ui: { nodes: uiNodes } } : {}),
  };
}
