/**
 * Deepest nesting canonicalJson and cloneJson follow. Far above the graph limit (256, checked at
 * validation) and far below what overflows the stack; a cyclic value also stops here.
 */
export const MAX_JSON_DEPTH = 1000;

/**
 * JSON with object keys sorted at every level, so equal values always give equal text (the basis
 * of cache keys). `undefined` members are dropped as JSON.stringify does. Throws a plain Error
 * (not a stack overflow) past {@link MAX_JSON_DEPTH} levels.
 */
export function canonicalJson(value: unknown): string {
  return canonical(value, 0);
}

function canonical(value: unknown, depth: number): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (depth >= MAX_JSON_DEPTH) throw new Error(`canonicalJson: value nested deeper than ${MAX_JSON_DEPTH} levels (or cyclic)`);
  if (Array.isArray(value)) return '[' + value.map((v) => (v === undefined ? 'null' : canonical(v, depth + 1))).join(',') + ']';
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined) continue;
    parts.push(JSON.stringify(k) + ':' + canonical(v, depth + 1));
  }
  return '{' + parts.join(',') + '}';
}
