// Reads the graph a PNG carries (core/SaveImage writes it as a tEXt chunk, keyword
// "tessera-graph"; core/image/graphChunk.ts): dropping such an image reopens its graph.

/** The keyword of the chunk (GRAPH_PNG_KEYWORD in core/image/graphChunk.ts). */
export const GRAPH_PNG_KEYWORD = 'tessera-graph';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The text of the PNG's `tEXt` chunk with this keyword, or undefined (not a PNG, no such chunk). */
export function pngTextChunk(bytes: Uint8Array, keyword = GRAPH_PNG_KEYWORD): string | undefined {
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const latin1 = new TextDecoder('latin1');
  for (let o = 8; o + 12 <= bytes.length; ) {
    const len = view.getUint32(o);
    const type = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
    if (o + 12 + len > bytes.length || type === 'IEND') break;
    if (type === 'tEXt') {
      const data = bytes.subarray(o + 8, o + 8 + len);
      const nul = data.indexOf(0);
      if (nul > 0 && latin1.decode(data.subarray(0, nul)) === keyword) return latin1.decode(data.subarray(nul + 1));
    }
    o += 12 + len;
  }
  return undefined;
}
