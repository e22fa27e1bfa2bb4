import type { GraphDocument, GraphNode } from './GraphDocument.ts';
import type { ValidationIssue } from './ValidationIssue.ts';
import { pointer } from './ValidationIssue.ts';
import { cloneJson } from '../util/cloneJson.ts';
import { isRecord, own, setOwn } from '../util/own.ts';
import { quoteText } from '../util/quoteText.ts';

/**
 * Applies `node.param=value` assignments (the CLI's `--set`) to a copy of the graph. Values are
 * read as JSON when they parse (`3`, `true`, `[1,2]`, `"x"`) and as plain strings otherwise;
 * `node.a.b=1` sets a nested param. Pure. Node ids and keys are user text: looked up as own keys
 * and set as own properties, so `--set n.__proto__.x=1` sets a param named `__proto__`.
 */
export function applyOverrides(graph: GraphDocument, assignments: readonly string[]): { graph: GraphDocument; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  const nodes: Record<string, GraphNode> = { ...(isRecord(graph.nodes) ? graph.nodes : {}) };
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    const path = eq > 0 ? assignment.slice(0, eq) : '';
    const dot = path.indexOf('.');
    if (eq <= 0 || dot <= 0 || dot === path.length - 1) {
      issues.push({ code: 'invalid_override', pointer: '', message: `--set expects node.param=value, got ${quoteText(assignment)}` });
      continue;
    }
    const nodeId = path.slice(0, dot);
    const keys = path.slice(dot + 1).split('.');
    const node = own(nodes, nodeId);
    if (!isRecord(node)) {
      issues.push({ code: 'invalid_override', pointer: pointer('nodes', nodeId), message: `--set ${path}: no node ${quoteText(nodeId)} in the graph` });
      continue;
    }
    const current = own(node, 'params');
    const params: Record<string, unknown> = isRecord(current) ? cloneJson(current) : {};
    let target = params;
    for (const k of keys.slice(0, -1)) {
      const next = own(target, k);
      if (!isRecord(next)) setOwn(target, k, {});
      target = own(target, k) as Record<string, unknown>;
    }
    setOwn(target, keys[keys.length - 1]!, parseValue(assignment.slice(eq + 1)));
    setOwn(nodes, nodeId, { ...node, params });
  }
  return { graph: { ...graph, nodes }, issues };
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // not JSON: `--set a.b=hello` means the string "hello" (documented)
  }
}
