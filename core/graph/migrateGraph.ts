import { GRAPH_FORMAT, GRAPH_VERSION } from './GraphDocument.ts';
import { pointer, type ValidationIssue } from './ValidationIssue.ts';
import { isRecord, own } from '../util/own.ts';
import { summarizeValue } from '../util/summarizeValue.ts';

/** Result of {@link migrateGraph}. */
export interface Migration {
  graph: unknown;
  migratedFrom?: number;
  /** Pointers of v0 nodes whose id repeated an earlier one (also among `issues`). */
  duplicateIds: string[];
  /** Everything the migration could not carry over: repeated ids, nodes without a usable id. */
  issues: ValidationIssue[];
}

/**
 * Brings an older graph file up to {@link GRAPH_VERSION}. Pure and total: returns a new object
 * and the versions it passed through; unknown future versions are returned untouched (the schema
 * check then reports them). User keys are copied as own properties (never through `=`), so a
 * node id `__proto__` stays a node id.
 *
 * Version 0 (the pre-release format) held nodes as an array `[{ id, type, params, inputs }]` with
 * links as `[nodeId, outputName]` pairs, ComfyUI-style, and layout inline as `pos` on each node.
 */
export function migrateGraph(input: unknown): Migration {
  if (!isRecord(input)) return { graph: input, duplicateIds: [], issues: [] };
  const version = own(input, 'version') ?? (Array.isArray(own(input, 'nodes')) ? 0 : undefined);
  if (version !== 0) return { graph: input, duplicateIds: [], issues: [] };
  const duplicateIds: string[] = [];
  const issues: ValidationIssue[] = [];
  const graph = migrateV0(input, duplicateIds, issues);
  return { graph, migratedFrom: 0, duplicateIds, issues };
}

function migrateV0(doc: Record<string, unknown>, duplicateIds: string[], issues: ValidationIssue[]): Record<string, unknown> {
  const nodes = new Map<string, unknown>();
  const uiNodes = new Map<string, unknown>();
  const list = own(doc, 'nodes');
  for (const [index, raw] of (Array.isArray(list) ? list : []).entries()) {
    if (!isRecord(raw)) {
      issues.push({ code: 'schema', pointer: pointer('nodes', index), message: `a version-0 node is an object with an id and a type, got ${summarizeValue(raw)}` });
      continue;
    }
    const id = own(raw, 'id');
    if (!isV0Id(id)) {
      issues.push({ code: 'schema', pointer: pointer('nodes', index, 'id'), message: `a version-0 node id is a string or a number, got ${summarizeValue(id)}` });
      continue;
    }
    const key = String(id);
    if (nodes.has(key)) {
      duplicateIds.push(pointer('nodes', index));
      issues.push({ code: 'duplicate_id', pointer: pointer('nodes', index), message: 'node id is used more than once' });
      continue;
    }
    const node = new Map<string, unknown>();
    for (const [k, v] of Object.entries(raw)) if (k !== 'id' && k !== 'pos' && k !== 'inputs') node.set(k, v);
    const inputs = own(raw, 'inputs');
    if (isRecord(inputs)) {
      const links = Object.entries(inputs).map(([port, link]) => [port, isV0Link(link) ? { node: String(link[0]), output: link[1] } : link] as const);
      if (links.length) node.set('inputs', Object.fromEntries(links));
    } else if (inputs !== undefined) {
      node.set('inputs', inputs); // not an object: left for the schema to report
    }
    nodes.set(key, Object.fromEntries(node));
    const pos = own(raw, 'pos');
    if (Array.isArray(pos)) uiNodes.set(key, { pos });
  }
  const meta = Object.entries(doc).filter(([k]) => k !== 'nodes' && k !== 'version' && k !== 'format');
  return Object.fromEntries([
    ['format', GRAPH_FORMAT],
    ['version', GRAPH_VERSION],
    ...meta,
    ['nodes', Object.fromEntries(nodes)],
    ...(uiNodes.size ? [['ui', { nodes: Object.fromEntries(uiNodes) }]] : []),
  ]);
}

function isV0Id(id: unknown): id is string | number {
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
}

function isV0Link(link: unknown): link is [string | number, string] {
  return Array.isArray(link) && link.length === 2 && isV0Id(link[0]) && typeof link[1] === 'string';
}
