import { defineNode } from 'tessera';
import { asMosaic } from './asMosaic.ts';

/** Weights the flow-matching loss towards subject tokens (MOSAIC v2). */
export const SubjectWeight = defineNode({
  type: 'mosaic/SubjectWeight',
  title: 'Subject-weighted flow loss',
  category: 'mosaic',
  description:
    'Weights each target token’s flow-matching error by background + (1 − background)·(share of its pixels on a subject, from the label map), normalised by the weights’ sum. Subjects are a small share of a SemAlign target; the plain mean spends most of the gradient on white background.',
  version: '1.0.0',
  inputs: { model: { type: 'MODEL' } },
  outputs: { model: { type: 'MODEL', description: 'The handle with the weighted flow loss.' } },
  params: {
    type: 'object',
    properties: {
      background: { type: 'number', default: 0.2, minimum: 0, maximum: 1, description: 'Weight of a token with no subject pixel (1: the plain mean).' },
    },
  },
  async execute(ctx) {
    const model = asMosaic(ctx.inputs.model, 'mosaic/SubjectWeight');
    return { model: model.withTerm({ kind: 'subject', background: ctx.params.background }) };
  },
});
