/** A node's box on the canvas, title bar included: [left, top, right, bottom]. */
export type Box = [number, number, number, number];

/** Gap kept between a grown node and its neighbours. */
const GAP = 12;

/**
 * How far a node may grow to the right and downwards before touching another node: the tallest,
 * then widest, box with the same top-left corner that overlaps none of `others` (which may
 * overlap the node already; those are left out, as growing cannot fix them).
 */
export function roomToGrow(box: Box, others: readonly Box[], wanted: { width: number; height: number }): { width: number; height: number } {
  const [left, top] = box;
  const clear = others.filter((o) => !intersects(box, o));
  const limitHeight = (h: number, right: number): number => {
    for (const o of clear) if (o[1] >= top && rangesMeet(left, right, o[0], o[2]) && o[1] - GAP - top < h) h = Math.max(box[3] - top, o[1] - GAP - top);
    return h;
  };
  // Height first (previews are drawn under the widgets): neighbours below in its columns…
  let height = limitHeight(wanted.height, box[2]);
  // …then width, by neighbours beside the rows it now covers…
  let width = wanted.width;
  for (const o of clear) if (o[0] >= left && rangesMeet(top, top + height, o[1], o[3]) && o[0] - GAP - left < width) width = Math.max(box[2] - left, o[0] - GAP - left);
  // …then height again, in case the wider node reached a column with a node below.
  height = limitHeight(height, left + width);
  return { width, height };
}

export function intersects(a: Box, b: Box): boolean {
  return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
}

function rangesMeet(a0: number, a1: number, b0: number, b1: number): boolean {
  return a0 < b1 && b0 < a1;
}
