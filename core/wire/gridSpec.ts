// The text forms of a sweep's grid and seeds (`node.param=a,b,c`, `0,1,2`): read by the CLI's
// --grid/--seeds and by the editor's sweep dialog. Node-free and pure, so the browser bundle
// imports this file itself.

/** One `node.param=a,b,c` spec, read: the node, the param path below `params`, the values. */
export interface GridSpec {
  readonly nodeId: string;
  readonly path: readonly string[];
  readonly values: readonly unknown[];
}

/** Reads one spec, or says what is wrong with it (`expects`: not node.param=…; `empty`: an empty value). */
export function readGridSpec(spec: string): GridSpec | { problem: 'expects' | 'empty'; path?: string[] } {
  const eq = spec.indexOf('=');
  const keys = (eq > 0 ? spec.slice(0, eq) : '').split('.');
  if (eq <= 0 || keys.length < 2 || keys.some((k) => k === '')) return { problem: 'expects' };
  const [nodeId, ...path] = keys as [string, ...string[]];
  const items = splitTopLevel(spec.slice(eq + 1));
  if (items.some((v) => v.trim() === '')) return { problem: 'empty', path: keys };
  return { nodeId, path, values: items.map(parseGridValue) };
}

/** Splits at commas that are not inside brackets, braces or a JSON string. */
export function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '[' || c === '{') depth++;
    else if ((c === ']' || c === '}') && depth > 0) depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

/** A grid value: JSON when it parses (`3`, `true`, `"3"`, `[1,2]`), else the text itself, as `--set` reads it. */
export function parseGridValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Each item of a `0,1,2` seed list: its number (NaN when it is not a plain non-negative integer) and its text. */
export function readSeedList(text: string): { value: number; text: string }[] {
  return text.split(',').map((item) => ({ value: /^\s*\d+\s*$/.test(item) ? Number(item) : NaN, text: item }));
}
