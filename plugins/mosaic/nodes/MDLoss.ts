import { defineNode } from 'tessera';
import { isAttentionTapModel } from 'tessera/model';
import { LOSS_PRESETS, mdlReference, mdlRowWeights, mdlTapLoss } from '../losses/index.ts';
import { asMosaic } from './asMosaic.ts';
import { lossPreview, PREVIEW_PARAMS } from './lossPreview.ts';

/** Wires MOSAIC's multi-reference disentanglement loss into the model. */
export const MDLoss = defineNode({
  type: 'mosaic/MDLoss',
  title: 'MDL (multi-reference disentanglement loss)',
  category: 'mosaic',
  description:
    'L_MD = −mean over reference pairs of the divergence between their mean attention distributions over target patches, so references claim different regions. Active only when K ≥ 2. β with warm-up (0 until s0, then a linear ramp over s1 steps). With preview samples it evaluates one sample and outputs heatmaps (a MOSAIC model needs weights; an imported one uses the export\'s own until trained).',
  version: '1.0.0',
  inputs: {
    model: { type: 'MODEL', description: 'A MOSAIC model (mosaic/Model), or an imported one (model/ImportOnnx with attention q/k named): MDL then pools its reference queries against its target keys.' },
    preview: { type: 'SEMALIGN_SAMPLES', optional: true, description: 'Eager mode: samples to evaluate on (a MOSAIC model needs weights).' },
  },
  outputs: {
    model: { type: 'MODEL', description: 'The handle with MDL added.' },
    value: { type: 'NUMBER', description: 'Eager mode: MDL on the preview sample (NaN without one or for K = 1).' },
    heatmaps: { type: 'IMAGE', description: 'Eager mode: per reference — a patch’s attention over the target, and its mean map.' },
  },
  params: {
    type: 'object',
    properties: {
      preset: { type: 'string', enum: ['paper', 'code', 'custom'], default: 'paper', description: 'paper: β 0.6 constant, annotated points, symmetric KL; code: β 1.0 after 10 % of the run, ramped over 1 %, all tokens, JSD; custom: the fields below.' },
      beta: { type: 'number', default: 0.6, minimum: 0, description: 'Weight β after warm-up (custom only).' },
      warmupStart: { type: 'integer', default: 0, minimum: 0, description: 's0: β = 0 before this step (custom only).' },
      rampSteps: { type: 'integer', default: 0, minimum: 0, description: 's1: linear ramp length (custom only).' },
      mode: { type: 'string', enum: ['tokens', 'points'], default: 'tokens', description: 'Mean over all a reference’s tokens (code) or its annotated points (paper) (custom only).' },
      distance: { type: 'string', enum: ['jsd', 'skl'], default: 'jsd', description: 'Jensen–Shannon (bounded) or symmetric KL (custom only).' },
      ...PREVIEW_PARAMS,
    },
  },
  async execute(ctx) {
    const p = ctx.params;
    const preset = p.preset === 'custom' ? null : LOSS_PRESETS[p.preset as 'paper' | 'code'];
    const term = preset
      ? { kind: 'mdl' as const, beta: preset.beta, warmupStart: 0, rampSteps: 0, mode: preset.mdlMode, distance: preset.distance, fractions: preset.warmupStartFraction || preset.rampFraction ? { start: preset.warmupStartFraction, ramp: preset.rampFraction } : undefined }
      : { kind: 'mdl' as const, beta: p.beta, warmupStart: p.warmupStart, rampSteps: p.rampSteps, mode: p.mode as 'tokens' | 'points', distance: p.distance as 'jsd' | 'skl' };
    const input = ctx.inputs.model;
    const next = isAttentionTapModel(input) ? input.withTapLoss(mdlTapLoss(term)) : asMosaic(input, 'mosaic/MDLoss').withTerm(term);
    if (isAttentionTapModel(next)) ctx.log.info(next.describe());
    const { value, heatmaps } = await lossPreview(ctx, next, ctx.inputs.preview, (s, map, { n, l }) => {
      const k = s.refs.length;
      if (k < 2) return null;
      const w = mdlRowWeights([s], { mode: term.mode, refPatches: l });
      return mdlReference(Float64Array.from(map), Float64Array.from(w.data as Float32Array), { B: 1, K: k, R: k * l, N: n }, term.distance);
    });
    return { model: next, value, heatmaps };
  },
});
