import { defineNode } from 'tessera';
import { isAttentionTapModel } from 'tessera/model';
import { LOSS_PRESETS, scalReference, scalTapLoss, scalTargets } from '../losses/index.ts';
import { dims } from '../model/MosaicConfig.ts';
import { asMosaic } from './asMosaic.ts';
import { blank, lossPreview, PREVIEW_PARAMS } from './lossPreview.ts';

/** Wires MOSAIC's semantic correspondence attention loss into the model. */
export const SCALoss = defineNode({
  type: 'mosaic/SCALoss',
  title: 'SCAL (correspondence attention loss)',
  category: 'mosaic',
  description:
    'L_SCA = −mean log A_ref→tgt[u, v] at the annotated (reference patch → target patch) pairs: each annotated reference token must attend to its target patch. Per reference then over references (paper) or flat over pairs (public code). With weights and preview samples it evaluates one sample and outputs heatmaps.',
  version: '1.0.0',
  inputs: {
    model: { type: 'MODEL', description: 'A MOSAIC model (mosaic/Model), or an imported one (model/ImportOnnx with attention q/k named): SCAL then reads its reference queries against its target keys.' },
    preview: { type: 'SEMALIGN_SAMPLES', optional: true, description: 'Eager mode: samples to evaluate on (needs weights).' },
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
    if (isAttentionTapModel(input)) {
      // No eager preview: it would need the imported model's own sampling of a sample.
      if (ctx.inputs.preview?.length) ctx.log.warn('mosaic/SCALoss: preview samples are not evaluated on an imported model');
      const next = input.withTapLoss(scalTapLoss(term));
      ctx.log.info(next.describe());
      return { model: next, value: Number.NaN, heatmaps: blank() };
    }
    const model = asMosaic(input, 'mosaic/SCALoss');
    const next = model.withTerm(term);
    const { n, l } = dims(model.config);
    const { value, heatmaps } = await lossPreview(ctx, next, ctx.inputs.preview, (s, map) => {
      const w = scalTargets([s], { mode: term.mode, refPatches: l, targetPatches: n });
      return scalReference(Float64Array.from(map), Float64Array.from(w.data as Float32Array), { B: 1, R: s.refs.length * l, N: n });
    });
    return { model: next, value, heatmaps };
  },
});

