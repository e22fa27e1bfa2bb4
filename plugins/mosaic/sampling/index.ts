/** MOSAIC generation: Euler sampling of the flow-matching ODE and a contact sheet of the results. */
export { eulerSample, sampleNoise, timeGrid } from './eulerSample.ts';
export type { EulerSampleOptions, EulerSampleResult } from './eulerSample.ts';
export { generationSheet } from './generationSheet.ts';
export type { GenerationSheetOptions } from './generationSheet.ts';
