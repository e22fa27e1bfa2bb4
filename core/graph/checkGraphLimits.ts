import { GRAPH_LIMITS } from './graphLimits.ts';
import { pointer, type ValidationIssue } from './ValidationIssue.ts';
import { isRecord, own } from '../util/own.ts';

/** A container on the walk; parents are linked so a pointer is built only when an issue needs it. */
interface Frame {
  readonly value: object;
  readonly level: number;
  readonly parent?: Frame;
  readonly key?: string;
}

/**
 * Nesting depth, string lengths and node count of a parsed document, checked iteratively (a
 * 200,000-level document cannot overflow the stack here) before any recursive code sees it.
 * Every problem found, each with its JSON pointer; the caller caps the list.
 */
export function checkGraphLimits(doc: unknown, limits: typeof GRAPH_LIMITS = GRAPH_LIMITS): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const nodes = own(doc, 'nodes');
  const nodeCount = isRecord(nodes) ? Object.keys(nodes).length : Array.isArray(nodes) ? nodes.length : 0;
  if (nodeCount > limits.nodes) issues.push({ code: 'too_large', pointer: '/nodes', message: `graph has ${nodeCount} nodes; at most ${limits.nodes} are allowed` });

  const at = (frame: Frame | undefined, last?: string): { pointer: string; nodeId?: string } => {
    const segments: string[] = last === undefined ? [] : [last];
    for (let f = frame; f?.key !== undefined; f = f.parent) segments.push(f.key);
    segments.reverse();
    const nodeId = segments[0] === 'nodes' && isRecord(nodes) && segments.length > 1 ? segments[1] : undefined;
    return { pointer: pointer(...segments), ...(nodeId !== undefined ? { nodeId } : {}) };
  };
  const tooLong = (s: string, what: string, where: { pointer: string; nodeId?: string }) =>
    issues.push({ code: 'too_large', ...where, message: `${what} is ${s.length} characters long; at most ${limits.stringLength} are allowed` });

  if (typeof doc === 'string' && doc.length > limits.stringLength) tooLong(doc, 'string', at(undefined));
  if (doc === null || typeof doc !== 'object') return issues;
  const stack: Frame[] = [{ value: doc, level: 1 }];
  while (stack.length) {
    const frame = stack.pop()!;
    if (frame.level > limits.depth) {
      issues.push({ code: 'too_deep', ...at(frame), message: `objects and arrays nest more than ${limits.depth} levels deep here` });
      continue; // one issue per over-deep subtree, not one per level below it
    }
    const isArray = Array.isArray(frame.value);
    const keys = isArray ? undefined : Object.keys(frame.value);
    const length = keys ? keys.length : (frame.value as unknown[]).length;
    const children: Frame[] = [];
    for (let i = 0; i < length; i++) {
      const key = keys ? keys[i]! : String(i);
      if (key.length > limits.stringLength) {
        tooLong(key, 'key', at(frame, key.slice(0, 64) + '…'));
        continue; // its value is not looked into: a pointer through this key would be as long
      }
      const value = (frame.value as Record<string, unknown>)[key];
      if (typeof value === 'string') {
        if (value.length > limits.stringLength) tooLong(value, 'string', at(frame, key));
      } else if (value !== null && typeof value === 'object') {
        children.push({ value, level: frame.level + 1, parent: frame, key });
      }
    }
    // Reversed, so the first child is walked first and issues come out roughly in file order.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return issues;
}
