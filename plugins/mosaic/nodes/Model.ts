import { stat } from 'node:fs/promises';
import { defineNode } from 'tessera';
import { AutoencoderModel } from 'tessera/latent';
import { checkAutoencoder } from '../model/latentCache.ts';
import { loadWeights } from '../model/loadWeights.ts';
import { PRESETS, resolveConfig } from '../model/MosaicConfig.ts';
import { MosaicModel } from '../model/MosaicModel.ts';

const optInt = (minimum: number, maximum: number, description: string) => ({ type: 'integer', minimum, maximum, description }) as const;

/** Creates the MOSAIC MODEL handle, untrained or with a checkpoint's weights. */
export const Model = defineNode({
  type: 'mosaic/Model',
  title: 'MOSAIC model',
  category: 'mosaic',
  description:
    'A flow-matching diffusion transformer conditioned the MOSAIC way: [layout, noisy target, reference₁…reference_K] tokens, references at t = 0 through a shared LoRA branch, no reference↔reference attention, learned slot offsets (K = 1…maxRefs with the same weights), adaLN time conditioning.',
  version: '1.0.0',
  inputs: {
    autoencoder: { type: 'MODEL', optional: true, description: "latent/Autoencoder handle with weights: required by the latent presets (latent-tiny, latent-v2), which train and sample in its latent space; ignored by pixel presets." },
  },
  outputs: { model: { type: 'MODEL', description: 'MOSAIC handle (wire into CorrespondenceAttention / loss nodes / Train / Sample).' } },
  params: {
    type: 'object',
    properties: {
      preset: { type: 'string', enum: Object.keys(PRESETS), default: 'small', description: 'tiny: tests (seconds); small: the default (about 15 min of training here, the bundled checkpoint); small-v2: small with each subject\'s pose relative to its reference in the layout (layoutPose); latent-v2: MOSAIC v2 in the autoencoder\'s latent space with pose-warped reference positions (the bundled v2 checkpoint; needs the autoencoder input); latent-tiny: its test-sized twin.' },
      checkpoint: { type: 'string', default: '', 'x-path': 'read', description: 'Weights to load (.safetensors from train/Train or a weights-only file), inside the workspace; relative to its root. Must match the preset.' },
      width: optInt(4, 4096, 'Override: token width.'),
      depth: optInt(1, 64, 'Override: number of blocks.'),
      heads: optInt(1, 64, 'Override: attention heads.'),
      loraRank: optInt(0, 1024, 'Override: rank of the reference-branch LoRA.'),
      maxRefs: optInt(1, 16, 'Override: most references (slot offsets).'),
      refAttention: { type: 'string', enum: ['target', 'self'], description: "Override: what references attend to besides themselves — 'target' (MOSAIC: layout + target) or 'self' (kv-cache mode)." },
      refPositions: { type: 'string', enum: ['grid', 'pose'], description: "Override: reference tokens' positions — 'grid' (their own grid over the image) or 'pose' (where the layout's pose puts them in the target; needs layoutPose). 'pose' in the latent presets." },
      layoutPose: { type: 'boolean', description: "Override: layout tokens also tell each subject's pose relative to its reference (rotation, mirror, scale) and honour layout dropout's 'given' flag. Off in tiny/small (and every checkpoint without the field), on in small-v2." },
    },
  },
  // A rewritten checkpoint (same path, new weights) must not be served from the cache.
  cache: {
    async fingerprint(p, { resolvePath }) {
      if (!p.checkpoint) return 'none';
      const st = await resolvePath(String(p.checkpoint)).then((f) => stat(f)).catch(() => null);
      return st ? `${st.mtimeMs}:${st.size}` : 'missing';
    },
  },
  async execute(ctx) {
    const p = ctx.params;
    const config = resolveConfig(p.preset, { width: p.width, depth: p.depth, heads: p.heads, loraRank: p.loraRank, maxRefs: p.maxRefs, refAttention: p.refAttention as 'target' | 'self' | undefined, layoutPose: p.layoutPose as boolean | undefined, refPositions: p.refPositions as 'grid' | 'pose' | undefined });
    let model = new MosaicModel(config);
    const ae = ctx.inputs.autoencoder;
    if (config.space === 'latent') {
      if (ae !== undefined && !(ae instanceof AutoencoderModel)) throw new TypeError('mosaic/Model: the autoencoder input must come from latent/Autoencoder');
      model = model.withAutoencoder(checkAutoencoder((ae as AutoencoderModel | undefined) ?? null, config, 'mosaic/Model'));
    } else if (ae !== undefined) ctx.log.warn(`mosaic/Model: preset ${config.preset} works on pixels; the autoencoder input is ignored`);
    if (p.checkpoint) model = model.withWeights(await loadWeights(await ctx.resolvePath(p.checkpoint, 'read'), config, model.autoencoder));
    ctx.log.info(model.describe());
    return { model };
  },
});
