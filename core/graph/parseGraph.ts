import type { GraphDocument } from './GraphDocument.ts';
import { capIssues, type ValidationIssue } from './ValidationIssue.ts';
import { quoteText as quote } from '../util/quoteText.ts';
import { unescapePointer } from '../util/jsonPointer.ts';
import { findDuplicateKeys } from './findDuplicateKeys.ts';
import { migrateGraph } from './migrateGraph.ts';
import { checkGraphLimits } from './checkGraphLimits.ts';
import { GRAPH_LIMITS } from './graphLimits.ts';
import { isRecord } from '../util/own.ts';

/** A parsed (and migrated) graph file, or why it could not be read. */
export interface ParsedGraph {
  /**
   * The document, present whenever the text was a JSON object within the size limits (even if
   * other issues exist); absent for non-JSON, a non-object, or a file over a limit.
   */
  readonly graph?: GraphDocument;
  /** At most GRAPH_LIMITS.issues of them, plus one `more_issues` counting the rest. */
  readonly issues: ValidationIssue[];
  /** The format version the file was migrated from, if it was older. */
  readonly migratedFrom?: number;
}

/**
 * Turns a file's text into a graph document: size limits, JSON syntax (with line and column),
 * duplicated keys (a repeated node id would otherwise silently win), and migration of older
 * format versions. Pure and total: any text gives a result, never an exception. Schema and
 * semantic checks come after ({@link validateGraph}).
 */
export function parseGraph(text: string): ParsedGraph {
  if (typeof text !== 'string') return { issues: [{ code: 'invalid_json', pointer: '', message: 'graph text is not a string' }] };
  if (text.length > GRAPH_LIMITS.fileBytes) return { issues: [{ code: 'too_large', pointer: '', message: `graph text is ${text.length} characters long; at most ${GRAPH_LIMITS.fileBytes} are allowed` }] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { issues: [{ code: 'invalid_json', pointer: '', message: describeJsonError(text, error as Error) }] };
  }
  if (!isRecord(value)) return { issues: [{ code: 'schema', pointer: '', message: `a graph file holds a JSON object, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}` }] };
  // Before anything recursive (findDuplicateKeys, migration) looks at it.
  const limits = checkGraphLimits(value);
  if (limits.length) return { issues: capIssues(limits) };
  const issues: ValidationIssue[] = findDuplicateKeys(text).map((ptr) => {
    const m = /^\/nodes\/([^/]+)$/.exec(ptr);
    return m
      ? { code: 'duplicate_id' as const, nodeId: unescapePointer(m[1]!), pointer: ptr, message: `node id ${quote(unescapePointer(m[1]!))} is used more than once` }
      : { code: 'schema' as const, pointer: ptr, message: 'key appears more than once in the same object' };
  });
  const migration = migrateGraph(value);
  issues.push(...migration.issues);
  return { graph: migration.graph as GraphDocument, issues: capIssues(issues), ...(migration.migratedFrom !== undefined ? { migratedFrom: migration.migratedFrom } : {}) };
}

function describeJsonError(text: string, error: Error): string {
  const m = /position (\d+)/.exec(error.message);
  if (!m) return `not valid JSON: ${error.message}`;
  const pos = Number(m[1]);
  const before = text.slice(0, pos).split('\n');
  return `not valid JSON at line ${before.length}, column ${before[before.length - 1]!.length + 1}: ${error.message.replace(/ in JSON at position \d+.*$/, '')}`;
}
