/**
 * Guards for reading user-supplied JSON. Keys such as `constructor`, `toString` or `__proto__`
 * must never reach `Object.prototype` through a plain `obj[key]` lookup, and a value the schema
 * would refuse (a string where an object belongs) must not be iterated as if it were one.
 */

/** A non-null, non-array object: something whose own keys can be read as a record. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `obj[key]` when `obj` is a record that has `key` as its own property, else undefined. */
export function own(obj: unknown, key: string): unknown {
  return isRecord(obj) && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Sets `obj[key]` as an own data property, even for `__proto__` (which `=` would treat as the prototype). */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}
