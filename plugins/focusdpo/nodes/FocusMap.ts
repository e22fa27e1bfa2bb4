import { defineNode, type ImageValue } from 'tessera';
import { checkSupportedBase } from '../supportedBase.ts';
import { encodePng } from 'tessera/image';
import { dims, MosaicModel } from 'tessera/mosaic';
import type { SemAlignSample } from 'tessera/semalign';
import { focusMapsAt, focusSheet } from '../focusHeatmaps.ts';
import { DEFAULT_FOCUS, parseFocusSpec } from '../focusSpec.ts';
import { isPair } from '../pairs.ts';

const d = DEFAULT_FOCUS;

const BLANK: ImageValue = { width: 1, height: 1, channels: 3, data: new Uint8Array(3) };

/** The focus map W_t's settings, and in eager mode its heatmaps across t. */
export const FocusMap = defineNode({
  type: 'focusdpo/FocusMap',
  title: 'FocusDPO: focus map W_t',
  category: 'focusdpo',
  description:
    'FocusDPO-like focus map W_t = normalise(M_prior ⊙ (M_corr,t + 1[t < τ]·λ·M_complexity)) with a confidence penalty; every term switchable (all off = uniform = Diffusion-DPO). Wire its spec into focusdpo/DPOLoss. Eager mode (model with weights + pairs): W_t heatmaps of one pair across t.',
  version: '1.0.0',
  inputs: {
    model: { type: 'MODEL', optional: true, description: 'Eager mode: a MOSAIC model with weights (M_corr is its attention).' },
    pairs: { type: 'SEMALIGN_SAMPLES', optional: true, description: 'Eager mode: preference pairs (focusdpo/PreferencePairs).' },
  },
  outputs: {
    focus: { type: 'JSON', description: 'The focus map spec (for focusdpo/DPOLoss).' },
    heatmaps: { type: 'IMAGE', description: 'Eager mode: winner | loser | prior mask | W_t over the winner at each t (a 1×1 blank image otherwise).' },
  },
  params: {
    type: 'object',
    properties: {
      prior: { type: 'boolean', default: d.prior, description: 'M_prior: the pair’s changed region (share of changed pixels per patch). Off: 1.' },
      correspondence: { type: 'boolean', default: d.correspondence, description: 'M_corr,t: the frozen reference model’s reference→target attention at t, top-k per reference patch. Off: 1.' },
      complexity: { type: 'boolean', default: d.complexity, description: 'M_complexity: the winner’s Gaussian-entropy map, added as λ·M for t < τ.' },
      topK: { type: 'integer', default: d.topK, minimum: 1, maximum: 4096, description: 'Target patches kept per reference patch in M_corr.' },
      tau: { type: 'number', default: d.tau, minimum: 0, maximum: 1, description: 'τ: complexity is on for t < τ (late, semantically aligned steps; t = 1 is noise). 1: always, 0: never.' },
      lambda: { type: 'number', default: d.lambda, minimum: 0, maximum: 1000000, description: 'λ: weight of the complexity term.' },
      sigma: { type: 'number', default: d.sigma, minimum: 0.1, maximum: 64, description: 'Gaussian σ (pixels) of the local variance in the complexity map.' },
      rho: { type: 'number', default: d.rho, minimum: 0, maximum: 1, description: 'Confidence penalty ρ: each reference patch’s top-k contribution × (1 − ρ + ρ·confidence), confidence = (max attention − 1/N)/(1 − 1/N). 0: off.' },
      times: { type: 'array', items: { type: 'number', minimum: 0, maximum: 1 }, default: [0.9, 0.7, 0.5, 0.3, 0.1], description: 'Eager mode: the t of each heatmap.' },
      previewIndex: { type: 'integer', default: 0, minimum: 0, maximum: 100000, description: 'Eager mode: which pair.' },
      seed: { type: 'integer', default: 0, minimum: 0, maximum: 0xffffffff, description: 'Eager mode: noise seed (per pair id).' },
      scale: { type: 'integer', default: 3, minimum: 1, maximum: 16, description: 'Eager mode: upscale factor.' },
      file: { type: 'string', default: 'focusdpo/focus-map.png', description: 'Eager mode: heatmap PNG inside the run directory ("" = do not write).' },
    },
  },
  async execute(ctx) {
    const p = ctx.params;
    const focus = parseFocusSpec({ prior: p.prior, correspondence: p.correspondence, complexity: p.complexity, topK: p.topK, tau: p.tau, lambda: p.lambda, sigma: p.sigma, rho: p.rho }, 'focusdpo/FocusMap');
    const model = ctx.inputs.model;
    const pairs = (ctx.inputs.pairs ?? []) as SemAlignSample[];
    if (model === undefined || pairs.length === 0) return { focus, heatmaps: BLANK };
    if (!(model instanceof MosaicModel)) throw new TypeError('focusdpo/FocusMap: the model input must be a MOSAIC model (from mosaic/Model)');
    checkSupportedBase(model, 'focusdpo/FocusMap');
    const pair = pairs[Math.min(p.previewIndex, pairs.length - 1)]!;
    if (!isPair(pair)) throw new RangeError(`focusdpo/FocusMap: ${pair.annotation.id} carries no preference pair (loser + prior mask)`);
    const times = p.times as number[];
    if (times.length === 0) throw new RangeError('focusdpo/FocusMap: times is empty');
    const maps = await focusMapsAt(model, pair, focus, times, p.seed, ctx.signal);
    const heatmaps = focusSheet(pair, maps, dims(model.config).grid, p.scale);
    if (p.file) await ctx.artifacts.write(p.file, encodePng(heatmaps));
    ctx.progress(1, 1, `W_t at t = ${times.join(', ')}`, heatmaps);
    return { focus, heatmaps };
  },
});
