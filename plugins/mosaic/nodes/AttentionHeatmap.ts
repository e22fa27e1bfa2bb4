import { defineNode } from 'tessera';
import { asMosaic } from './asMosaic.ts';
import { lossPreview, PREVIEW_PARAMS } from './lossPreview.ts';

/**
 * Shows where each reference attends in the target: the viewer that graphs used SCALoss's eager
 * mode for, without adding a loss term to the model.
 */
export const AttentionHeatmap = defineNode({
  type: 'mosaic/AttentionHeatmap',
  title: 'Attention heatmap',
  category: 'mosaic',
  description:
    'For one sample: each reference patch’s attention over the target (the reference→target correspondence map, averaged over the model’s chosen blocks) and each reference’s mean map, as a heatmap panel. Needs a model with weights.',
  version: '1.0.0',
  inputs: {
    model: { type: 'MODEL', description: 'A MOSAIC handle with weights (mosaic/Model with a checkpoint, or train/Train).' },
    samples: { type: 'SEMALIGN_SAMPLES', description: 'Samples to pick the shown one from.' },
  },
  outputs: { heatmaps: { type: 'IMAGE', description: 'Per reference: a patch’s attention over the target, and its mean map.' } },
  params: { type: 'object', properties: { ...PREVIEW_PARAMS }, additionalProperties: false },
  async execute(ctx) {
    const model = asMosaic(ctx.inputs.model, 'mosaic/AttentionHeatmap');
    if (!model.weights) throw new Error('mosaic/AttentionHeatmap: the model has no weights (load a checkpoint in mosaic/Model, or wire train/Train)');
    if (!ctx.inputs.samples.length) throw new Error('mosaic/AttentionHeatmap: no samples');
    const { heatmaps } = await lossPreview(ctx, model, ctx.inputs.samples, () => null);
    return { heatmaps };
  },
});
