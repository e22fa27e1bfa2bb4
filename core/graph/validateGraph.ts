import type { GraphDocument } from './GraphDocument.ts';
import type { ValidationIssue } from './ValidationIssue.ts';
import type { NodeRegistry } from '../plugin/NodeRegistry.ts';
import { validateGraphSchema } from './validateGraphSchema.ts';
import { validateSemantics } from './validateSemantics.ts';

/**
 * Every problem with a graph document, schema first, then semantics (node types, ports, types,
 * params, cycles). An empty array means it may run. Pure.
 */
export function validateGraph(doc: unknown, registry: NodeRegistry): ValidationIssue[] {
  const issues = validateGraphSchema(doc);
  const nodes = (doc as { nodes?: unknown } | null)?.nodes;
  if (nodes && typeof nodes === 'object' && !Array.isArray(nodes)) {
    issues.push(...validateSemantics(doc as GraphDocument, registry));
  }
  return issues;
}
