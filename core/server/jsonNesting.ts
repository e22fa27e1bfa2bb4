/**
 * Where JSON text first nests objects and arrays deeper than `max` levels (the outermost
 * `{`/`[` is level 1), or -1 when it never does. A linear scan that skips string contents, so it
 * can run before `JSON.parse` and before anything recursive (schema checks, validation, cloning)
 * sees the value. Invalid JSON is not judged here; JSON.parse reports it.
 */
export function jsonNestingOverflow(text: string, max: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return -1;
}
