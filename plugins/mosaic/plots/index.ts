/** Pictures of attention: heatmaps of patch grids, overlays, the per-reference panel. */
export { heatmapImage, normalizeValues } from './heatmapImage.ts';
export type { HeatmapOptions } from './heatmapImage.ts';
export { overlayHeatmap } from './overlayHeatmap.ts';
export { correspondencePanel } from './correspondencePanel.ts';
export type { PanelGrids } from './correspondencePanel.ts';
