import { defineNode } from 'tessera';
import { isAttentionTapModel } from 'tessera/model';
import { LOSS_PRESETS, scalReference, scalTapLoss, scalTargets } from '../losses/index.ts';
import { asMosaic } from './asMosaic.ts';
import { lossPreview, PREVIEW_PARAMS } from './lossPreview.ts';

/** Wires MOSAIC's semantic correspondence attention loss into the model. */
export const SCALoss = defineNode({
  type: 'mosaic/SCALoss',
  title: 'SCAL (correspondence attention loss)',
  category: 'mosaic',
  description:
    'L_SCA = −mean log A_ref→tgt[u, v] at the annotated (reference patch → target patch) pairs: each annotated reference token must attend to its target patch. Per reference then over references (paper) or flat over pairs (public code). With preview samples it evaluates one sample and outputs heatmaps (a MOSAIC model needs weights; an imported one uses the export\'s own until trained).',
  version: '1.0.0',
  inputs: {
    model: { type: 'MODEL', description: 'A MOSAIC model (mosaic/Model), or an imported one (model/ImportOnnx with attention q/k named): SCAL then reads its reference queries against its target keys.' },
    preview: { type: 'SEMALIGN_SAMPLES', optional: true, description: 'Eager mode: samples to evaluate on (a MOSAIC model needs weights).' },
  },
  outputs: {
    model: { type: 'MODEL', description: 'The handle with SCAL added.' },
    value: { type: 'NUMBER', description: 'Eager mode: SCAL on the preview sample (NaN without one).' },
    heatmaps: { type: 'IMAGE', description: 'Eager mode: per reference — a patch’s attention over the target, and its mean map.' },
  },
  params: {
    type: 'object',
    properties: {
      preset: { type: 'string', enum: ['paper', 'code', 'custom'], default: 'paper', description: 'paper: α 0.4, per-reference mean; code: α 0.1, flat pair mean; custom: the fields below.' },
      alpha: { type: 'number', default: 0.4, minimum: 0, description: 'Weight α (custom only).' },
      mode: { type: 'string', enum: ['reference', 'pairs'], default: 'reference', description: 'Averaging (custom only).' },
      ...PREVIEW_PARAMS,
    },
  },
  async execute(ctx) {
    const p = ctx.params;
    const preset = p.preset === 'custom' ? null : LOSS_PRESETS[p.preset as 'paper' | 'code'];
    const term = { kind: 'scal', alpha: preset?.alpha ?? p.alpha, mode: preset?.scalMode ?? p.mode } as const;
    const input = ctx.inputs.model;
    const next = isAttentionTapModel(input) ? input.withTapLoss(scalTapLoss(term)) : asMosaic(input, 'mosaic/SCALoss').withTerm(term);
    if (isAttentionTapModel(next)) ctx.log.info(next.describe());
    const { value, heatmaps } = await lossPreview(ctx, next, ctx.inputs.preview, (s, map, { n, l }) => {
      const w = scalTargets([s], { mode: term.mode, refPatches: l, targetPatches: n });
      return scalReference(Float64Array.from(map), Float64Array.from(w.data as Float32Array), { B: 1, R: s.refs.length * l, N: n });
    });
    return { model: next, value, heatmaps };
  },
});

