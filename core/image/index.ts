/**
 * `'tessera/image'`: PNG files and small drawing helpers for IMAGE values (RGB/gray/RGBA bytes),
 * shared by every plugin that writes pictures (contact sheets, heatmaps, loss curves).
 */
export { ImageFileError, encodePng, decodePng, withPngText, readPngText, asciiJson, type PngText } from './png.ts';
export { SLOT_COLORS, canvas, blit, line, rect, dot } from './draw.ts';
export { viridis } from './colormap.ts';
export { GRAPH_PNG_KEYWORD, GRAPH_PNG_MAX_CHARS, graphPngText } from './graphChunk.ts';
