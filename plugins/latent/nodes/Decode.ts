import { defineNode } from 'tessera';
import { asAutoencoder } from './asAutoencoder.ts';

/** Decodes latents into images. */
export const Decode = defineNode({
  type: 'latent/Decode',
  title: 'Decode latents',
  category: 'latent',
  description: 'Latents [N, C, h, w] → N RGB images of h·f × w·f (values clipped to [-1, 1], then to bytes).',
  version: '1.0.0',
  inputs: {
    model: { type: 'MODEL', description: 'A trained or loaded autoencoder.' },
    latents: { type: 'TENSOR', description: 'Latents, e.g. from latent/Encode or a latent diffusion model.' },
  },
  outputs: { images: { type: 'IMAGE_BATCH', description: 'One image per latent.' } },
  async execute(ctx) {
    const model = asAutoencoder(ctx.inputs.model, 'latent/Decode');
    return { images: await model.decode(ctx.inputs.latents as { shape: number[]; data: unknown }) };
  },
});
