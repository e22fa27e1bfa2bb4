import type { GraphDocument } from './GraphDocument.ts';
import { capIssues, type ValidationIssue } from './ValidationIssue.ts';
import type { NodeRegistry } from '../plugin/NodeRegistry.ts';
import { validateGraphSchema } from './validateGraphSchema.ts';
import { checkSemantics, type CheckedGraph } from './validateSemantics.ts';
import { checkGraphLimits } from './checkGraphLimits.ts';
import { isRecord, own } from '../util/own.ts';

/**
 * Every problem with a graph document: size limits first (a document over them is not looked at
 * further), then the schema, then semantics (node types, ports, types, params, cycles). An empty
 * array means it may run. Pure and total: any value gives issues, never an exception. At most
 * GRAPH_LIMITS.issues issues, plus one `more_issues` counting the rest.
 */
export function validateGraph(doc: unknown, registry: NodeRegistry): ValidationIssue[] {
  return checkGraph(doc, registry).issues;
}

/** {@link validateGraph}, plus what semantics learned (for planRun) when there is no issue. */
export function checkGraph(doc: unknown, registry: NodeRegistry): { issues: ValidationIssue[]; checked?: CheckedGraph } {
  const limits = checkGraphLimits(doc);
  if (limits.length) return { issues: capIssues(limits) };
  const issues = validateGraphSchema(doc);
  if (!isRecord(own(doc, 'nodes'))) return { issues: capIssues(issues) };
  const semantics = checkSemantics(doc as GraphDocument, registry);
  if (issues.length === 0 && semantics.checked) return { issues, checked: semantics.checked };
  issues.push(...semantics.issues);
  return { issues: capIssues(issues) };
}
