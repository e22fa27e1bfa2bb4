/**
 * File names for per-item outputs (model/Sample, mosaic/Sample write <id>.png): public through
 * 'tessera/model' so both samplers name files the same way.
 */

/** Longest base name kept (before the suffix and extension): far below the usual 255-byte limit. */
const MAX_BASE = 160;

/**
 * One distinct file name per id, `<base><ext>` with the id's characters other than letters,
 * digits, '.', '_' and '-' turned into '_'. Different ids can sanitize alike ("a b", "a_b"), a
 * case-insensitive disk merges "A" and "a", and an id may equal a name the caller writes itself
 * (`reserved`, e.g. "sheet"): the first item keeps the plain name and each later clash gets
 * `_<item index>` (then `_<n>` until free), so no file overwrites another and the names depend
 * only on the ids and their order.
 */
export function itemFileNames(ids: readonly string[], ext: string, reserved: readonly string[] = []): string[] {
  const taken = new Set(reserved.map((r) => r.toLowerCase()));
  return ids.map((id, i) => {
    if (typeof id !== 'string') throw new TypeError(`itemFileNames: item ${i}'s id must be a string, got ${typeof id}`);
    const base = id.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, MAX_BASE) || '_';
    let name = base;
    for (let n = 1; taken.has(name.toLowerCase()); n++) name = n === 1 ? `${base}_${i}` : `${base}_${i}_${n}`;
    taken.add(name.toLowerCase());
    return `${name}${ext}`;
  });
}
