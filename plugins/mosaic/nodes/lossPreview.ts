import type { ExecuteContext, ImageValue } from 'tessera';
import type { SemAlignSample } from 'tessera/semalign';
import { encodePng } from 'tessera/image';
import { isAttentionTapModel, type AttentionTapModel } from 'tessera/model';
import { checkBatch, correspondenceMap } from '../losses/index.ts';
import { correspondenceMapOf } from '../model/correspondencePreview.ts';
import { dims } from '../model/MosaicConfig.ts';
import type { MosaicModel } from '../model/MosaicModel.ts';
import { correspondencePanel } from '../plots/correspondencePanel.ts';

/** Shared preview params of the loss nodes' eager mode. */
export const PREVIEW_PARAMS = {
  previewIndex: { type: 'integer', default: 0, minimum: 0, description: 'Which preview sample to evaluate.' },
  previewT: { type: 'number', default: 0.1, minimum: 0, maximum: 1, description: 'Diffusion time of the noised target for the preview.' },
  previewFile: { type: 'string', default: '', description: 'Also write the heatmap PNG here, inside the run directory ("" = do not).' },
} as const;

/** A 1×1 white image for "no preview" (IMAGE ports carry images, not null). */
export const blank = (): ImageValue => ({ width: 1, height: 1, channels: 3, data: new Uint8Array([255, 255, 255]) });

/** Token counts of a correspondence map: N target tokens, L per reference. */
export interface MapTokens {
  readonly n: number;
  readonly l: number;
}

/**
 * One sample's correspondence map [K·L, N] and token grids on an imported model: its named
 * attention's taps over [noised target; clean references] (as in training), mapped as SCAL/MDL see them.
 */
async function importedMap(model: AttentionTapModel, sample: SemAlignSample, t: number): Promise<{ map: Float32Array; tokens: MapTokens; grids: { grid: number; refGrid: number } }> {
  const out = await model.evaluateTaps(sample, t, 0, (_g, taps) => ({ map: correspondenceMap(taps) }));
  const m = out.map!;
  const k = sample.refs.length;
  const tokens = { n: m.shape[2]!, l: m.shape[1]! / k };
  // The sample's grids must be the attention's token grids (a RangeError naming it otherwise).
  checkBatch([sample], tokens.l, tokens.n);
  const c = sample.annotation.correspondence;
  if (c.targetGrid[0] !== c.targetGrid[1] || c.refGrid[0] !== c.refGrid[1]) throw new RangeError(`mosaic: sample ${sample.annotation.id} has non-square grids; the heatmaps draw square ones`);
  return { map: m.data as Float32Array, tokens, grids: { grid: c.targetGrid[0], refGrid: c.refGrid[0] } };
}

/**
 * Eager mode of a loss node: evaluates the correspondence map on one preview sample and returns
 * the loss value (from `value`; NaN when there is none) and the heatmap panel (a blank pixel
 * without a preview). A MOSAIC model needs weights; an imported one (named attention) uses its
 * weights or, untrained, the export's own.
 */
export async function lossPreview(
  ctx: ExecuteContext,
  model: MosaicModel | AttentionTapModel,
  samples: readonly SemAlignSample[] | undefined,
  value: (sample: SemAlignSample, map: Float32Array, tokens: MapTokens) => number | null,
): Promise<{ value: number; heatmaps: ImageValue }> {
  const none = { value: Number.NaN, heatmaps: blank() };
  if (!samples?.length) return none;
  const p = ctx.params as { previewIndex: number; previewT: number; previewFile: string };
  const sample = samples[Math.min(p.previewIndex, samples.length - 1)]!;
  let map: Float32Array;
  let tokens: MapTokens;
  let heatmaps: ImageValue;
  if (isAttentionTapModel(model)) {
    const m = await importedMap(model, sample, p.previewT);
    ({ map, tokens } = m);
    heatmaps = correspondencePanel(m.grids, sample, map);
  } else {
    if (!model.weights) {
      ctx.log.warn(`${ctx.nodeId}: preview samples given but the model has no weights yet; no heatmaps`);
      return none;
    }
    const d = dims(model.config);
    map = await correspondenceMapOf(model, sample, p.previewT, 0);
    tokens = d;
    heatmaps = correspondencePanel(d, sample, map);
  }
  if (p.previewFile) await ctx.artifacts.write(p.previewFile, encodePng(heatmaps));
  ctx.progress(1, 1, `${sample.annotation.id}`, heatmaps);
  return { value: value(sample, map, tokens) ?? Number.NaN, heatmaps };
}
