/**
 * `'tessera/image'`: PNG files and small drawing helpers for IMAGE values (RGB/gray/RGBA bytes),
 * shared by every plugin that writes pictures (contact sheets, heatmaps, loss curves).
 */
export { ImageFileError, encodePng, decodePng } from './png.ts';
export { SLOT_COLORS, canvas, blit, line, rect, dot } from './draw.ts';
export { viridis } from './colormap.ts';
