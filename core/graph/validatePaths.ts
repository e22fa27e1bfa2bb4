import type { GraphDocument } from './GraphDocument.ts';
import { pointer, type ValidationIssue } from './ValidationIssue.ts';
import type { NodeRegistry } from '../plugin/NodeRegistry.ts';
import type { PathAccess, Workspace } from '../services/Workspace.ts';

/**
 * Params whose schema carries `"x-path": "read" | "write"` name files or folders; each one set
 * in the graph must stay inside the workspace. Lexical only (pure): symlinks are judged again
 * where the node uses the path (`ctx.resolvePath`). Run on a graph that passed validateGraph.
 */
export function validatePaths(doc: GraphDocument, registry: NodeRegistry, workspace: Workspace): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const id in doc.nodes) {
    if (!Object.hasOwn(doc.nodes, id)) continue;
    const node = doc.nodes[id]!;
    const properties = registry.get(node.type)?.params?.properties;
    const params = node.params;
    if (!properties || !params || typeof params !== 'object') continue;
    for (const [name, schema] of Object.entries(properties)) {
      const access = (schema as { 'x-path'?: unknown } | undefined)?.['x-path'];
      if ((access !== 'read' && access !== 'write') || !Object.hasOwn(params, name)) continue;
      const value = (params as Record<string, unknown>)[name];
      if (value === '' || value === undefined) continue; // '' = the node's default location
      const why = workspace.check(value, access as PathAccess);
      if (why) issues.push({ code: 'path_outside_workspace', nodeId: id, pointer: pointer('nodes', id, 'params', name), message: `param ${name}: ${typeof value === 'string' ? `"${value.length > 200 ? value.slice(0, 200) + '…' : value}" ` : ''}${why}` });
    }
  }
  return issues;
}
