import type { GraphDocument } from './GraphDocument.ts';
import type { ValidationIssue } from './ValidationIssue.ts';
import { findDuplicateKeys } from './findDuplicateKeys.ts';
import { migrateGraph } from './migrateGraph.ts';

/** A parsed (and migrated) graph file, or why it could not be read. */
export interface ParsedGraph {
  /** The document, present whenever the text was valid JSON (even if other issues exist). */
  readonly graph?: GraphDocument;
  readonly issues: ValidationIssue[];
  /** The format version the file was migrated from, if it was older. */
  readonly migratedFrom?: number;
}

/**
 * Turns a file's text into a graph document: JSON syntax (with line and column), duplicated keys
 * (a repeated node id would otherwise silently win), and migration of older format versions.
 * Pure; schema and semantic checks come after ({@link validateGraph}).
 */
export function parseGraph(text: string): ParsedGraph {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { issues: [{ code: 'invalid_json', pointer: '', message: describeJsonError(text, error as Error) }] };
  }
  const issues: ValidationIssue[] = findDuplicateKeys(text).map((ptr) => {
    const m = /^\/nodes\/([^/]+)$/.exec(ptr);
    return m
      ? { code: 'duplicate_id' as const, nodeId: m[1]!, pointer: ptr, message: `node id "${m[1]}" is used more than once` }
      : { code: 'schema' as const, pointer: ptr, message: 'key appears more than once in the same object' };
  });
  const migration = migrateGraph(value);
  for (const ptr of migration.duplicateIds) issues.push({ code: 'duplicate_id', pointer: ptr, message: 'node id is used more than once' });
  return { graph: migration.graph as GraphDocument, issues, ...(migration.migratedFrom !== undefined ? { migratedFrom: migration.migratedFrom } : {}) };
}

function describeJsonError(text: string, error: Error): string {
  const m = /position (\d+)/.exec(error.message);
  if (!m) return `not valid JSON: ${error.message}`;
  const pos = Number(m[1]);
  const before = text.slice(0, pos).split('\n');
  return `not valid JSON at line ${before.length}, column ${before[before.length - 1]!.length + 1}: ${error.message.replace(/ in JSON at position \d+.*$/, '')}`;
}
