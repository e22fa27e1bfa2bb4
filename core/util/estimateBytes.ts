/**
 * Rough memory footprint of a value, for cache budgets: typed arrays by their byte length,
 * strings at two bytes a character, containers by their members plus a small overhead. Shared
 * buffers and cycles are counted once.
 */
export function estimateBytes(value: unknown, seen = new Set<object>()): number {
  if (value === null || value === undefined) return 0;
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return 8;
    case 'boolean':
      return 4;
    case 'string':
      return 2 * value.length + 16;
    case 'object':
      break;
    default:
      return 16;
  }
  const obj = value as object;
  if (seen.has(obj)) return 0;
  seen.add(obj);
  if (ArrayBuffer.isView(obj)) {
    if (seen.has(obj.buffer)) return 0;
    seen.add(obj.buffer);
    return obj.byteLength + 64;
  }
  if (obj instanceof ArrayBuffer) return obj.byteLength + 32;
  const sizeOf = (obj as { byteSize?: unknown }).byteSize;
  if (typeof sizeOf === 'number') return sizeOf;
  let total = 32;
  if (Array.isArray(obj)) for (const v of obj) total += 8 + estimateBytes(v, seen);
  else if (obj instanceof Map) for (const [k, v] of obj) total += estimateBytes(k, seen) + estimateBytes(v, seen) + 16;
  else for (const k of Object.keys(obj)) total += 2 * k.length + 16 + estimateBytes((obj as Record<string, unknown>)[k], seen);
  return total;
}
