import type { EditState } from './Editor.ts';
import type { GraphDocument } from './types.ts';

/**
 * The working document kept in localStorage after every edit, so a reload (or a crashed tab)
 * comes back to the same graph: its identity (workspace path or file name), the file it was
 * opened from (for an exact save later) and the unsaved state.
 */
export interface Autosave {
  path?: string;
  fileName?: string;
  base: GraphDocument;
  state: EditState;
  dirty: boolean;
  savedAt: string;
}

const KEY = 'tessera.autosave.v1';

export function writeAutosave(entry: Autosave, storage: Storage = localStorage): void {
  storage.setItem(KEY, JSON.stringify(entry));
}

/** The stored entry, or undefined when there is none or it is not of the expected shape. */
export function readAutosave(storage: Storage = localStorage): Autosave | undefined {
  let value: unknown;
  try {
    const text = storage.getItem(KEY);
    if (!text) return undefined;
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isAutosave(value) ? value : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isGraph = (v: unknown): v is GraphDocument => isObject(v) && v.format === 'tessera-graph' && isObject(v.nodes);
const isPair = (v: unknown): boolean => Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && Number.isFinite(x));

function isAutosave(v: unknown): v is Autosave {
  if (!isObject(v) || !isGraph(v.base) || !isObject(v.state) || !isGraph(v.state.doc) || !Array.isArray(v.state.layout)) return false;
  if (v.path !== undefined && typeof v.path !== 'string') return false;
  if (v.fileName !== undefined && typeof v.fileName !== 'string') return false;
  if (typeof v.dirty !== 'boolean') return false;
  return v.state.layout.every((e: unknown) => Array.isArray(e) && typeof e[0] === 'string' && isObject(e[1]) && isPair(e[1].pos) && (e[1].size === undefined || isPair(e[1].size)) && (e[1].loadedPos === undefined || isPair(e[1].loadedPos)));
}
