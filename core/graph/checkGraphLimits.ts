import { GRAPH_LIMITS } from './graphLimits.ts';
import { pointer, type ValidationIssue } from './ValidationIssue.ts';
import { isRecord, own } from '../util/own.ts';

/**
 * Nesting depth, string lengths and node count of a parsed document, checked before any other
 * recursive code sees it. The walk recurses, but never below `limits.depth` levels (256), so a
 * 200,000-level document cannot overflow the stack here. Every problem found, each with its JSON
 * pointer; the caller caps the list.
 */
export function checkGraphLimits(doc: unknown, limits: typeof GRAPH_LIMITS = GRAPH_LIMITS): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const nodes = own(doc, 'nodes');
  const nodeCount = isRecord(nodes) ? Object.keys(nodes).length : Array.isArray(nodes) ? nodes.length : 0;
  if (nodeCount > limits.nodes) issues.push({ code: 'too_large', pointer: '/nodes', message: `graph has ${nodeCount} nodes; at most ${limits.nodes} are allowed` });

  // The keys from the document down to the container being walked; a pointer is built from them
  // only when an issue needs one.
  const path: string[] = [];
  const at = (last?: string): { pointer: string; nodeId?: string } => {
    const segments = last === undefined ? path : [...path, last];
    const nodeId = segments[0] === 'nodes' && isRecord(nodes) && segments.length > 1 ? segments[1] : undefined;
    return { pointer: pointer(...segments), ...(nodeId !== undefined ? { nodeId } : {}) };
  };
  const tooLong = (s: string, what: string, where: { pointer: string; nodeId?: string }) =>
    issues.push({ code: 'too_large', ...where, message: `${what} is ${s.length} characters long; at most ${limits.stringLength} are allowed` });

  /** One container: its keys and strings first, then its containers in order (issues in file order). */
  const walk = (value: object, level: number): void => {
    if (level > limits.depth) {
      issues.push({ code: 'too_deep', ...at(), message: `objects and arrays nest more than ${limits.depth} levels deep here` });
      return; // one issue per over-deep subtree, not one per level below it
    }
    const isArray = Array.isArray(value);
    const keys = isArray ? undefined : Object.keys(value);
    const length = keys ? keys.length : (value as unknown[]).length;
    let containers = 0;
    for (let i = 0; i < length; i++) {
      const key = keys ? keys[i]! : String(i);
      if (key.length > limits.stringLength) {
        tooLong(key, 'key', at(key.slice(0, 64) + '…'));
        continue; // its value is not looked into: a pointer through this key would be as long
      }
      const child = (value as Record<string, unknown>)[key];
      if (typeof child === 'string') {
        if (child.length > limits.stringLength) tooLong(child, 'string', at(key));
      } else if (child !== null && typeof child === 'object') containers++;
    }
    if (containers === 0) return;
    for (let i = 0; i < length; i++) {
      const key = keys ? keys[i]! : String(i);
      if (key.length > limits.stringLength) continue;
      const child = (value as Record<string, unknown>)[key];
      if (child === null || typeof child !== 'object') continue;
      path.push(key);
      walk(child, level + 1);
      path.pop();
    }
  };

  if (typeof doc === 'string' && doc.length > limits.stringLength) tooLong(doc, 'string', at());
  if (doc !== null && typeof doc === 'object') walk(doc, 1);
  return issues;
}
