import { setOwn } from './own.ts';

/**
 * A one-line description of a value for error reports, logs and the CLI: numbers and short
 * strings as they are, arrays and typed arrays by length, images and tensors by shape.
 */
export function summarizeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return value.length > 60 ? JSON.stringify(value.slice(0, 57) + '...') + ` (${value.length} chars)` : JSON.stringify(value);
  if (typeof value === 'function') return 'function';
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as { length?: number }).length ?? value.byteLength})`;
  if (Array.isArray(value)) return `array(${value.length})`;
  const v = value as Record<string, unknown>;
  if (typeof v.width === 'number' && typeof v.height === 'number' && ArrayBuffer.isView(v.data)) return `image ${v.width}×${v.height}×${v.channels ?? '?'}`;
  if (Array.isArray(v.shape) && (typeof v.dtype === 'string' || typeof v.type === 'string')) return `tensor ${v.dtype ?? v.type}[${(v.shape as unknown[]).join(',')}]`;
  if (typeof v.describe === 'function') {
    try {
      return String((v.describe as () => unknown)());
    } catch {
      // A describe() that throws: the value is summarised like any other object below.
    }
  }
  const keys = Object.keys(v);
  // The prototype, not `v.constructor`: a plain object may carry its own "constructor" key.
  const proto = Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null;
  const name = proto && proto !== Object.prototype && typeof proto.constructor?.name === 'string' ? proto.constructor.name + ' ' : '';
  return `${name}{${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''}}`;
}

/**
 * A JSON-safe copy of a value for the event stream's wire form (CLI `--json`, server): typed
 * arrays and images become summaries, small plain data passes through.
 */
export function toWireValue(value: unknown, depth = 0): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return value.length > 4096 ? value.slice(0, 4096) + '…' : value;
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return null;
  if (typeof value === 'bigint') return value.toString();
  if (ArrayBuffer.isView(value) || depth > 4) return { $summary: summarizeValue(value) };
  if (Array.isArray(value)) return value.length > 256 ? { $summary: summarizeValue(value) } : value.map((v) => toWireValue(v, depth + 1));
  const v = value as Record<string, unknown>;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) {
    if (typeof v.toJSON === 'function') return toWireValue((v.toJSON as () => unknown)(), depth + 1);
    return { $summary: summarizeValue(value) };
  }
  if (typeof v.width === 'number' && ArrayBuffer.isView(v.data)) return { $summary: summarizeValue(value) };
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) setOwn(out, k, toWireValue(x, depth + 1));
  return out;
}
