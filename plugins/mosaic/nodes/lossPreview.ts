import type { ExecuteContext, ImageValue } from 'tessera';
import type { SemAlignSample } from 'tessera/semalign';
import { encodePng } from 'tessera/image';
import { correspondenceMapOf, heatmapPanel } from '../model/correspondencePreview.ts';
import type { MosaicModel } from '../model/MosaicModel.ts';

/** Shared preview params of the loss nodes' eager mode. */
export const PREVIEW_PARAMS = {
  previewIndex: { type: 'integer', default: 0, minimum: 0, description: 'Which preview sample to evaluate.' },
  previewT: { type: 'number', default: 0.1, minimum: 0, maximum: 1, description: 'Diffusion time of the noised target for the preview.' },
  previewFile: { type: 'string', default: '', description: 'Also write the heatmap PNG here, inside the run directory ("" = do not).' },
} as const;

/** A 1×1 white image for "no preview" (IMAGE ports carry images, not null). */
export const blank = (): ImageValue => ({ width: 1, height: 1, channels: 3, data: new Uint8Array([255, 255, 255]) });

/**
 * Eager mode of a loss node: with weights and a preview sample, evaluates the correspondence map
 * on that one sample and returns the loss value (from `value`; NaN when there is none) and the
 * heatmap panel (a blank pixel without a preview).
 */
export async function lossPreview(
  ctx: ExecuteContext,
  model: MosaicModel,
  samples: readonly SemAlignSample[] | undefined,
  value: (sample: SemAlignSample, map: Float32Array) => number | null,
): Promise<{ value: number; heatmaps: ImageValue }> {
  const none = { value: Number.NaN, heatmaps: blank() };
  if (!samples?.length) return none;
  if (!model.weights) {
    ctx.log.warn(`${ctx.nodeId}: preview samples given but the model has no weights yet; no heatmaps`);
    return none;
  }
  const p = ctx.params as { previewIndex: number; previewT: number; previewFile: string };
  const sample = samples[Math.min(p.previewIndex, samples.length - 1)]!;
  const map = await correspondenceMapOf(model, sample, p.previewT, 0);
  const heatmaps = heatmapPanel(model, sample, map);
  if (p.previewFile) await ctx.artifacts.write(p.previewFile, encodePng(heatmaps));
  ctx.progress(1, 1, `${sample.annotation.id}`, heatmaps);
  return { value: value(sample, map) ?? Number.NaN, heatmaps };
}
