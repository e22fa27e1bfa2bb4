import type { GraphDocument, GraphNode, Link } from './GraphDocument.ts';
import { linksOf } from './GraphDocument.ts';
import type { ValidationIssue } from './ValidationIssue.ts';
import { pointer } from './ValidationIssue.ts';
import type { NodeRegistry } from '../plugin/NodeRegistry.ts';
import { isPortCompatible } from '../plugin/portTypes.ts';
import { findCycles } from './findCycles.ts';
import { closestMatch } from '../util/closestMatch.ts';

/**
 * Checks what a schema cannot: node types exist, links point at real nodes and ports, port types
 * agree, required inputs are wired, params satisfy each node's own schema, and there are no
 * cycles. Pure; reports every problem it finds, each with node id and JSON pointer.
 */
export function validateSemantics(graph: GraphDocument, registry: NodeRegistry): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const nodes = graph.nodes ?? {};
  const known = registry.types();
  for (const [id, node] of Object.entries(nodes)) {
    if (!node || typeof node !== 'object' || typeof node.type !== 'string') continue;
    const def = registry.get(node.type);
    if (!def) {
      const near = closestMatch(node.type, known);
      const namespace = node.type.slice(0, node.type.indexOf('/') + 1);
      // A whole missing namespace usually means a plugin that is not loaded, not a typo.
      const hint = near ? ` (did you mean "${near}"?)` : namespace && !known.some((t) => t.startsWith(namespace)) ? ` (no loaded plugin provides "${namespace}…"; load it with --plugin DIR or tessera.config.json, see \`tessera plugins\`)` : '';
      issues.push({ code: 'unknown_node_type', nodeId: id, pointer: pointer('nodes', id, 'type'), message: `unknown node type "${node.type}"${hint}` });
      continue;
    }
    const params = registry.resolveParams(node.type, node.params);
    if (!params.ok) {
      for (const e of params.errors) issues.push({ code: 'invalid_params', nodeId: id, pointer: pointer('nodes', id, 'params') + e.pointer, message: /^(unknown|missing required) param/.test(e.message) ? e.message : `param ${e.pointer.slice(1) || '(params)'} ${e.message}` });
    }
    checkInputs(id, node, def.inputs, graph, registry, issues);
  }
  for (const cycle of findCycles(nodes)) {
    issues.push({ code: 'cycle', nodeId: cycle[0]!, pointer: pointer('nodes', cycle[0]!), message: `cycle: ${[...cycle, cycle[0]].join(' → ')}` });
  }
  return issues;
}

function checkInputs(
  id: string,
  node: GraphNode,
  specs: Record<string, { type: string; optional?: boolean; list?: boolean }>,
  graph: GraphDocument,
  registry: NodeRegistry,
  issues: ValidationIssue[],
): void {
  const inputs = node.inputs ?? {};
  for (const [port, value] of Object.entries(inputs)) {
    const spec = specs[port];
    if (!spec) {
      const near = closestMatch(port, Object.keys(specs));
      issues.push({ code: 'unknown_input', nodeId: id, pointer: pointer('nodes', id, 'inputs', port), message: `${node.type} has no input "${port}"${near ? ` (did you mean "${near}"?)` : ''}` });
      continue;
    }
    const links = linksOf(value as Link | Link[]);
    if (Array.isArray(value) && !spec.list && links.length > 1) {
      issues.push({ code: 'too_many_links', nodeId: id, pointer: pointer('nodes', id, 'inputs', port), message: `input "${port}" takes one link, got ${links.length}` });
    }
    links.forEach((link, i) => {
      const at = Array.isArray(value) ? pointer('nodes', id, 'inputs', port, i) : pointer('nodes', id, 'inputs', port);
      if (!link || typeof link !== 'object' || typeof link.node !== 'string') return; // schema reports it
      const source = graph.nodes[link.node];
      if (!source) {
        issues.push({ code: 'dangling_link', nodeId: id, pointer: at + '/node', message: `input "${port}" links to missing node "${link.node}"` });
        return;
      }
      const sourceDef = registry.get(source.type);
      if (!sourceDef) return; // reported on the source node
      const out = sourceDef.outputs[link.output];
      if (!out) {
        const near = closestMatch(link.output, Object.keys(sourceDef.outputs));
        issues.push({ code: 'unknown_output', nodeId: id, pointer: at + '/output', message: `node "${link.node}" (${source.type}) has no output "${link.output}"${near ? ` (did you mean "${near}"?)` : ''}` });
        return;
      }
      if (!isPortCompatible(out.type, spec.type)) {
        issues.push({ code: 'type_mismatch', nodeId: id, pointer: at, message: `input "${port}" expects ${spec.type} but "${link.node}.${link.output}" is ${out.type}` });
      }
    });
  }
  for (const [port, spec] of Object.entries(specs)) {
    const wired = linksOf(inputs[port] as Link | Link[] | undefined).length > 0;
    if (!spec.optional && !wired) {
      issues.push({ code: 'missing_input', nodeId: id, pointer: pointer('nodes', id, 'inputs'), message: `required input "${port}" (${spec.type}) is not connected` });
    }
  }
}
