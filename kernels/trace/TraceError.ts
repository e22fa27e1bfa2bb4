import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';

// Frames inside kernels/ (tracer, autodiff, blocks, trainer) are skipped so the location points
// at the caller's model code rather than at this library.
const internalDirs = [dirname(dirname(fileURLToPath(import.meta.url)))];

/** The first stack frame outside the tracer, as `file:line:col`, or '' when none is found. */
export function callerLocation(): string {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const line of stack) {
    const m = /\(?((?:file:\/\/)?\/[^()]+?):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!m) continue;
    const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
    if (internalDirs.some((d) => file.startsWith(d + '/')) || file.includes('/node_modules/') || file.startsWith('node:')) continue;
    return `${file}:${m[2]}:${m[3]}`;
  }
  return '';
}

/**
 * A shape, dtype or usage error found while tracing a tensor program, raised before anything
 * reaches onnxruntime. The message names the op and the tensors involved and ends with the
 * caller's source location.
 */
export class TraceError extends Error {
  readonly op: string;
  readonly location: string;
  constructor(op: string, message: string) {
    const location = callerLocation();
    super(`${op}: ${message}${location ? ` (at ${location})` : ''}`);
    this.name = 'TraceError';
    this.op = op;
    this.location = location;
  }
}
