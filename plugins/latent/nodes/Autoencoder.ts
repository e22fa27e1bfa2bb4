import { stat } from 'node:fs/promises';
import { defineNode } from 'tessera';
import { AutoencoderModel } from '../AutoencoderModel.ts';
import { PRESETS, resolveConfig } from '../config.ts';
import { loadWeights } from '../loadWeights.ts';

/** Creates the autoencoder MODEL handle, untrained or with a checkpoint's weights. */
export const Autoencoder = defineNode({
  type: 'latent/Autoencoder',
  title: 'Latent autoencoder',
  category: 'latent',
  description:
    'A convolutional autoencoder (64×64×3 → 16×16×8 with the small preset): stride-2 convolutions down, 4×4 stride-2 transposed convolutions up, residual blocks, no normalisation. Wire into latent/SubjectLoss and train/Train to train it, or into latent/Encode and latent/Decode with a checkpoint.',
  version: '1.0.0',
  inputs: {},
  outputs: { model: { type: 'MODEL', description: 'Autoencoder handle.' } },
  params: {
    type: 'object',
    properties: {
      preset: { type: 'string', enum: Object.keys(PRESETS), default: 'small', description: 'tiny: tests (seconds); small: the v2 latent space, 64×64×3 → 16×16×8.' },
      checkpoint: { type: 'string', default: '', 'x-path': 'read', description: 'Weights to load (.safetensors from train/Train or a weights-only file, e.g. plugins/latent/weights/ae-small.safetensors), inside the workspace; relative to its root. Must match the preset.' },
    },
  },
  // A rewritten checkpoint (same path, new weights) must not be served from the cache.
  cache: {
    async fingerprint(p, paths) {
      if (!p.checkpoint) return 'none';
      const st = await stat(await paths.resolvePath(String(p.checkpoint))).catch(() => null);
      return st ? `${st.mtimeMs}:${st.size}` : 'missing';
    },
  },
  async execute(ctx) {
    const p = ctx.params;
    const config = resolveConfig(p.preset);
    let model = new AutoencoderModel(config);
    if (p.checkpoint) model = model.withWeights(await loadWeights(await ctx.resolvePath(p.checkpoint, 'read'), config));
    ctx.log.info(model.describe());
    return { model };
  },
});
