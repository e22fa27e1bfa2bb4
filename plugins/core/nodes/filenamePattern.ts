/** `%d`, `%05d` (zero-padded to 5) or `{index}`: where a value's index goes in a file name. */
const PLACEHOLDER = /%(0\d{1,2})?d|\{index\}/g;

/** Whether a file-name pattern numbers its files itself. */
export function hasIndexPlaceholder(pattern: string): boolean {
  return new RegExp(PLACEHOLDER.source).test(pattern);
}

/**
 * The file name of value `index` (0-based) of a stream saved under `pattern`:
 * `images/out_%05d.png` → `images/out_00007.png`, `frame_{index}.png` → `frame_7.png`. A pattern
 * without a placeholder names value 0 as it is and inserts `_<index>` before the extension of
 * every later one (`image.png`, `image_1.png`, …), so no value overwrites another.
 */
export function formatFilename(pattern: string, index: number): string {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`file index must be a non-negative integer, got ${index}`);
  if (hasIndexPlaceholder(pattern)) return pattern.replace(PLACEHOLDER, (_, pad: string | undefined) => String(index).padStart(pad ? Number(pad) : 0, '0'));
  if (index === 0) return pattern;
  const dot = pattern.lastIndexOf('.');
  const slash = pattern.lastIndexOf('/');
  return dot > slash + 1 ? `${pattern.slice(0, dot)}_${index}${pattern.slice(dot)}` : `${pattern}_${index}`;
}
