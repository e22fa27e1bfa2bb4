import { readFile } from 'node:fs/promises';
import type { GraphDocument } from './GraphDocument.ts';
import type { ValidationIssue } from './ValidationIssue.ts';
import { parseGraph } from './parseGraph.ts';

/** Reads a graph file; I/O errors become an issue rather than an exception. */
export async function loadGraphFile(path: string): Promise<{ graph?: GraphDocument; issues: ValidationIssue[]; migratedFrom?: number }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    return { issues: [{ code: 'invalid_json', pointer: '', message: e.code === 'ENOENT' ? `file not found: ${path}` : `cannot read ${path}: ${e.message}` }] };
  }
  return parseGraph(text);
}
