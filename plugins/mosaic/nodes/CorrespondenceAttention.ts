import { defineNode } from 'tessera';
import { asMosaic } from './asMosaic.ts';

/** Chooses the blocks whose reference→target maps the losses (and previews) average over. */
export const CorrespondenceAttention = defineNode({
  type: 'mosaic/CorrespondenceAttention',
  title: 'Correspondence attention',
  category: 'mosaic',
  description:
    'Exposes the reference→target correspondence map: softmax of reference-token queries over target keys only, averaged over heads and over the chosen blocks (all by default, as the public code uses every double-stream block).',
  version: '1.0.0',
  inputs: { model: { type: 'MODEL' } },
  outputs: { model: { type: 'MODEL', description: 'The handle with the chosen blocks recorded.' } },
  params: {
    type: 'object',
    properties: {
      blocks: { type: 'array', items: { type: 'integer', minimum: 0 }, default: [], description: 'Block indices (0-based); empty = all blocks.' },
    },
  },
  execute(ctx) {
    const model = asMosaic(ctx.inputs.model, 'mosaic/CorrespondenceAttention');
    const blocks = (ctx.params.blocks as number[]).map(Number);
    return { model: blocks.length ? model.withTaps(blocks) : model.withTaps(model.mapBlocks) };
  },
});
