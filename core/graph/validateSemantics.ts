import type { GraphDocument } from './GraphDocument.ts';
import type { ValidationIssue } from './ValidationIssue.ts';
import { pointer } from './ValidationIssue.ts';
import { quoteText as quote } from '../util/quoteText.ts';
import type { NodeRegistry } from '../plugin/NodeRegistry.ts';
import type { AnyNodeDefinition } from '../plugin/NodeDefinition.ts';
import { isPortCompatible } from '../plugin/portTypes.ts';
import { findCycles } from './findCycles.ts';
import { indexGraph, type GraphIndex } from './indexGraph.ts';
import { closestMatch } from '../util/closestMatch.ts';
import { isRecord, own } from '../util/own.ts';

/**
 * What validation learned about a graph that passed it, for planning to reuse instead of
 * working it out again (Engine.run hands it to planRun). Arrays are aligned with `index.ids`.
 */
export interface CheckedGraph {
  readonly index: GraphIndex;
  readonly defs: readonly AnyNodeDefinition[];
  /** Each node's params, resolved against its schema (defaults filled in, a copy). */
  readonly params: readonly Record<string, unknown>[];
}

/**
 * Checks what a schema cannot: node types exist, links point at real nodes and ports, port types
 * agree, required inputs are wired, params satisfy each node's own schema, and there are no
 * cycles. Pure; reports every problem it finds, each with node id and JSON pointer.
 *
 * It runs on documents the schema may have refused, so every value is type-checked before use
 * (a wrong shape is left to the schema's issue), and names from the file are looked up as own
 * keys only: a port `toString` or a node `constructor` is just a name that does not exist.
 */
export function validateSemantics(graph: GraphDocument, registry: NodeRegistry): ValidationIssue[] {
  return checkSemantics(graph, registry).issues;
}

/** {@link validateSemantics}, plus what it learned when it found no issue. */
export function checkSemantics(graph: GraphDocument, registry: NodeRegistry): { issues: ValidationIssue[]; checked?: CheckedGraph } {
  const issues: ValidationIssue[] = [];
  const nodes = own(graph, 'nodes');
  if (!isRecord(nodes)) return { issues };
  const index = indexGraph(nodes);
  // Every node's definition first: links are checked against their source's by index.
  const defs: (AnyNodeDefinition | undefined)[] = new Array(index.ids.length);
  for (let i = 0; i < index.ids.length; i++) {
    const type = own(nodes[index.ids[i]!], 'type');
    defs[i] = typeof type === 'string' ? registry.get(type) : undefined;
  }
  const resolvedParams: Record<string, unknown>[] = new Array(index.ids.length);
  for (let i = 0; i < index.ids.length; i++) {
    const id = index.ids[i]!;
    const node = nodes[id];
    const type = own(node, 'type');
    if (typeof type !== 'string') continue; // the schema reports it
    const def = defs[i];
    if (!def) {
      const known = registry.types();
      const near = closestMatch(type, known);
      const namespace = type.slice(0, type.indexOf('/') + 1);
      // A whole missing namespace usually means a plugin that is not loaded, not a typo.
      const hint = near ? ` (did you mean "${near}"?)` : namespace && !known.some((t) => t.startsWith(namespace)) ? ` (no loaded plugin provides ${quote(namespace + '…')}; load it with --plugin DIR or tessera.config.json, see \`tessera plugins\`)` : '';
      issues.push({ code: 'unknown_node_type', nodeId: id, pointer: pointer('nodes', id, 'type'), message: `unknown node type ${quote(type)}${hint}` });
      continue;
    }
    const params = own(node, 'params');
    if (params === undefined || isRecord(params)) {
      const resolved = registry.resolveParams(type, params);
      if (resolved.ok) resolvedParams[i] = resolved.params;
      else {
        for (const e of resolved.errors) issues.push({ code: 'invalid_params', nodeId: id, pointer: pointer('nodes', id, 'params') + e.pointer, message: /^(unknown|missing required) param/.test(e.message) ? e.message : `param ${e.pointer.slice(1) || '(params)'} ${e.message}` });
      }
    }
    checkInputs(id, i, node as Record<string, unknown>, def, index, defs, issues);
  }
  // The topological order misses nodes only when there is a cycle: then find and name them.
  if (index.order.length < index.ids.length) {
    for (const cycle of findCycles(index)) {
      issues.push({ code: 'cycle', nodeId: cycle[0]!, pointer: pointer('nodes', cycle[0]!), message: `cycle: ${[...cycle, cycle[0]].join(' → ')}` });
    }
  }
  return issues.length ? { issues } : { issues, checked: { index, defs: defs as AnyNodeDefinition[], params: resolvedParams } };
}

/**
 * isPortCompatible, remembered per (output type, input type): a graph uses a handful of type
 * pairs over thousands of links, and each check splits both union types anew. Keys are port
 * types from node definitions, held in Maps.
 */
const compatibility = new Map<string, Map<string, boolean>>();
function compatible(from: string, to: string): boolean {
  let row = compatibility.get(from);
  if (!row) {
    if (compatibility.size >= 1024) return isPortCompatible(from, to);
    compatibility.set(from, (row = new Map()));
  }
  let ok = row.get(to);
  if (ok === undefined) {
    ok = isPortCompatible(from, to);
    if (row.size < 1024) row.set(to, ok);
  }
  return ok;
}

function checkInputs(id: string, at: number, node: Record<string, unknown>, def: AnyNodeDefinition, index: GraphIndex, defs: readonly (AnyNodeDefinition | undefined)[], issues: ValidationIssue[]): void {
  const specs = def.inputs as Record<string, { type: string; optional?: boolean; list?: boolean }>;
  const inputs = own(node, 'inputs');
  if (inputs !== undefined && !isRecord(inputs)) return; // the schema reports it
  // The index resolved every link's node already, in this same order (GraphIndex.linkFrom).
  let next = index.linkStart[at]!;
  // for-in with own-key checks: Object.entries' keys, without a pair array per input.
  for (const port in inputs) {
    if (!Object.hasOwn(inputs, port)) continue;
    const value = inputs[port];
    const many = Array.isArray(value);
    const count = many ? value.length : 1;
    const first = next;
    next += count;
    const spec = own(specs, port) as (typeof specs)[string] | undefined;
    if (!spec) {
      const near = closestMatch(port, Object.keys(specs));
      issues.push({ code: 'unknown_input', nodeId: id, pointer: pointer('nodes', id, 'inputs', port), message: `${def.type} has no input ${quote(port)}${near ? ` (did you mean "${near}"?)` : ''}` });
      continue;
    }
    if (many && !spec.list && count > 1) {
      issues.push({ code: 'too_many_links', nodeId: id, pointer: pointer('nodes', id, 'inputs', port), message: `input ${quote(port)} takes one link, got ${count}` });
    }
    for (let i = 0; i < count; i++) {
      const link = many ? value[i] : value;
      const from = own(link, 'node');
      if (typeof from !== 'string') continue; // the schema reports it
      const d = index.linkFrom[first + i]!;
      if (d === -1) {
        issues.push({ code: 'dangling_link', nodeId: id, pointer: linkPointer(id, port, value, i) + '/node', message: `input ${quote(port)} links to missing node ${quote(from)}` });
        continue;
      }
      const sourceDef = defs[d];
      if (!sourceDef) continue; // reported on the source node
      const output = own(link, 'output');
      if (typeof output !== 'string') continue; // the schema reports it
      const out = own(sourceDef.outputs, output) as { type: string } | undefined;
      if (!out) {
        const near = closestMatch(output, Object.keys(sourceDef.outputs));
        issues.push({ code: 'unknown_output', nodeId: id, pointer: linkPointer(id, port, value, i) + '/output', message: `node ${quote(from)} (${sourceDef.type}) has no output ${quote(output)}${near ? ` (did you mean "${near}"?)` : ''}` });
        continue;
      }
      if (!compatible(out.type, spec.type)) {
        issues.push({ code: 'type_mismatch', nodeId: id, pointer: linkPointer(id, port, value, i), message: `input ${quote(port)} expects ${spec.type} but ${quote(`${from}.${output}`)} is ${out.type}` });
      }
    }
  }
  for (const port in specs) {
    if (!Object.hasOwn(specs, port)) continue;
    const spec = specs[port]!;
    const value = own(inputs, port);
    const wired = Array.isArray(value) ? value.length > 0 : value !== undefined;
    if (!spec.optional && !wired) {
      issues.push({ code: 'missing_input', nodeId: id, pointer: pointer('nodes', id, 'inputs'), message: `required input ${quote(port)} (${spec.type}) is not connected` });
    }
  }
}

/** Where link `i` of an input sits; built only when there is an issue to report (most links have none). */
function linkPointer(id: string, port: string, value: unknown, i: number): string {
  return Array.isArray(value) ? pointer('nodes', id, 'inputs', port, i) : pointer('nodes', id, 'inputs', port);
}
