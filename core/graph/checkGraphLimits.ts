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

  /** One container, its members in order (so issues come out in file order). */
  const walk = (value: object, level: number): void => {
    if (level > limits.depth) {
      issues.push({ code: 'too_deep', ...at(), message: `objects and arrays nest more than ${limits.depth} levels deep here` });
      return; // one issue per over-deep subtree, not one per level below it
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) member(i, value[i], level);
      return;
    }
    // for-in with an own-key check: Object.keys' keys and order, without an array per container.
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      if (key.length > limits.stringLength) tooLong(key, 'key', at(key.slice(0, 64) + '…'));
      // A long key's value is not looked into: a pointer through it would be as long.
      else member(key, (value as Record<string, unknown>)[key], level);
    }
  };
  const member = (key: string | number, child: unknown, level: number): void => {
    if (typeof child === 'string') {
      if (child.length > limits.stringLength) tooLong(child, 'string', at(String(key)));
    } else if (child !== null && typeof child === 'object') {
      path.push(String(key));
      walk(child, level + 1);
      path.pop();
    }
  };

  if (typeof doc === 'string' && doc.length > limits.stringLength) tooLong(doc, 'string', at());
  if (doc !== null && typeof doc === 'object') walk(doc, 1);
  return issues;
}
