/** Machine-readable reasons a graph is refused. */
export type ValidationCode =
  | 'invalid_json'
  | 'schema'
  | 'unsupported_version'
  | 'duplicate_id'
  | 'unknown_node_type'
  | 'unknown_input'
  | 'unknown_output'
  | 'dangling_link'
  | 'type_mismatch'
  | 'missing_input'
  | 'too_many_links'
  | 'invalid_params'
  | 'cycle'
  | 'no_outputs'
  | 'invalid_override'
  | 'path_outside_workspace'
  /** A size limit (GRAPH_LIMITS) was exceeded: file size, string length or node count. */
  | 'too_large'
  /** Objects and arrays nested deeper than GRAPH_LIMITS.depth. */
  | 'too_deep'
  /** Stands for the issues past GRAPH_LIMITS.issues; `count` says how many. */
  | 'more_issues';

/** One problem in a graph file: where (node id + JSON pointer), what, and a plain message. */
export interface ValidationIssue {
  readonly code: ValidationCode;
  readonly message: string;
  /** JSON pointer into the file, e.g. `/nodes/sum/inputs/a`. */
  readonly pointer: string;
  readonly nodeId?: string;
  /** Only on `more_issues`: how many issues it stands for. */
  readonly count?: number;
}

import { escapePointer } from '../util/jsonPointer.ts';
import { GRAPH_LIMITS } from './graphLimits.ts';

export { escapePointer };

/** Builds a JSON pointer from segments. */
export function pointer(...segments: (string | number)[]): string {
  return segments.map((s) => '/' + escapePointer(String(s))).join('');
}

/** The issues without repeats (same code, pointer and message), first occurrence kept. */
export function dedupeIssues(issues: readonly ValidationIssue[]): ValidationIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.code}\0${i.pointer}\0${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * At most `max` issues, then one `more_issues` issue counting the rest. Earlier summaries are
 * folded into the count, so capping already-capped lists again still gives one summary.
 */
export function capIssues(issues: readonly ValidationIssue[], max: number = GRAPH_LIMITS.issues): ValidationIssue[] {
  let hidden = 0;
  const kept: ValidationIssue[] = [];
  for (const i of issues) {
    if (i.code === 'more_issues') hidden += i.count ?? 0;
    else if (kept.length < max) kept.push(i);
    else hidden++;
  }
  if (hidden > 0) kept.push({ code: 'more_issues', pointer: '', count: hidden, message: `${hidden} more issue${hidden === 1 ? '' : 's'} not shown` });
  return kept;
}

/** One line per issue: `nodeId  /pointer  message [code]`. */
export function formatIssue(issue: ValidationIssue): string {
  const where = issue.nodeId !== undefined ? `node ${issue.nodeId} at ${issue.pointer || '/'}` : issue.pointer || '/';
  return `${where}: ${issue.message} [${issue.code}]`;
}

/** Thrown when a graph is refused; carries every issue found. */
export class GraphValidationError extends Error {
  readonly issues: readonly ValidationIssue[];
  constructor(issues: readonly ValidationIssue[], source?: string) {
    super(`${source ? source + ': ' : ''}graph is invalid (${issues.length} problem${issues.length === 1 ? '' : 's'})\n` + issues.map((i) => '  ' + formatIssue(i)).join('\n'));
    this.name = 'GraphValidationError';
    this.issues = issues;
  }
}
