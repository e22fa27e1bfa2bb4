import { defineNode } from 'tessera';
import { teacherForcedMaps } from '../sampling/teacherForcedMaps.ts';
import { asMosaic } from './asMosaic.ts';

/** Correspondence maps with the answer in view: teacher-forced PCK, reported apart from PCK on generations. */
export const TeacherForcedAttention = defineNode({
  type: 'mosaic/TeacherForcedAttention',
  title: 'Teacher-forced attention',
  category: 'mosaic',
  description:
    'Per sample, the reference→target correspondence map of one forward pass on the ground-truth target noised to a small t (averaged over the model’s map blocks). Wire into metrics/SemAlignMetrics.teacherAttention for teacher-forced PCK, which says whether attention finds the right patch when the target is known, apart from whether generation renders it.',
  version: '1.0.0',
  inputs: {
    model: { type: 'MODEL', description: 'A MOSAIC handle with weights.' },
    samples: { type: 'SEMALIGN_SAMPLES' },
  },
  outputs: { attention: { type: 'ATTENTION_BATCH', description: 'Per sample [K·L, N], aligned with samples.' } },
  params: {
    type: 'object',
    properties: {
      t: { type: 'number', default: 0.1, minimum: 0, maximum: 1, description: 'Diffusion time of the noised ground truth.' },
      seed: { type: 'integer', default: 0, minimum: 0, description: 'Noise seed (per sample id, independent of batching).' },
      batchSize: { type: 'integer', default: 8, minimum: 1, maximum: 256 },
    },
    additionalProperties: false,
  },
  async execute(ctx) {
    const model = asMosaic(ctx.inputs.model, 'mosaic/TeacherForcedAttention');
    if (!ctx.inputs.samples.length) throw new Error('mosaic/TeacherForcedAttention: no samples');
    const attention = await teacherForcedMaps(model, ctx.inputs.samples, { t: ctx.params.t, seed: ctx.params.seed, batchSize: ctx.params.batchSize, signal: ctx.signal });
    return { attention };
  },
});
