import { open } from 'node:fs/promises';
import type { GraphDocument } from './GraphDocument.ts';
import type { ValidationIssue } from './ValidationIssue.ts';
import { parseGraph } from './parseGraph.ts';
import { GRAPH_LIMITS } from './graphLimits.ts';

/**
 * Reads a graph file; I/O errors and files over GRAPH_LIMITS.fileBytes become an issue rather
 * than an exception. Reads at most that many bytes, so `/dev/zero` or a huge file costs nothing.
 */
export async function loadGraphFile(path: string): Promise<{ graph?: GraphDocument; issues: ValidationIssue[]; migratedFrom?: number }> {
  let text: string;
  try {
    text = await readCapped(path, GRAPH_LIMITS.fileBytes);
  } catch (error) {
    if (error instanceof TooLarge) return { issues: [{ code: 'too_large', pointer: '', message: `${path} is larger than ${GRAPH_LIMITS.fileBytes} bytes (the graph file limit)` }] };
    const e = error as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? `file not found: ${path}` : e.code === 'EISDIR' ? `${path} is a folder, not a graph file` : `cannot read ${path}: ${e.message}`;
    return { issues: [{ code: 'invalid_json', pointer: '', message: why }] };
  }
  // A byte-order mark is not JSON, but editors write one; it carries no meaning.
  return parseGraph(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
}

class TooLarge extends Error {}

async function readCapped(path: string, limit: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (stat.isFile() && stat.size > limit) throw new TooLarge();
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, limit + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > limit) throw new TooLarge();
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    await handle.close();
  }
}
