import type { ImageValue } from 'tessera';
import { defineNode } from 'tessera';
import type { SemAlignSample } from 'tessera/semalign';
import { asAutoencoder } from './asAutoencoder.ts';

const isSample = (x: unknown): x is SemAlignSample => !!x && typeof x === 'object' && 'annotation' in x && 'target' in x && Array.isArray((x as SemAlignSample).refs);

/** Encodes images, or SemAlign samples' targets and references, into latents. */
export const Encode = defineNode({
  type: 'latent/Encode',
  title: 'Encode to latents',
  category: 'latent',
  description:
    'Images → latents [N, C, H/f, W/f] (f = 4 for the small preset). Given samples, encodes their targets (latents) and their references, concatenated in sample then slot order (refLatents). Every image is checked (RGB/RGBA, one size per batch, sides multiples of f) before a session is built.',
  version: '1.0.0',
  inputs: {
    model: { type: 'MODEL', description: 'A trained or loaded autoencoder.' },
    images: { type: 'IMAGE_BATCH|SEMALIGN_SAMPLES', description: 'Images of one size, or samples.' },
  },
  outputs: {
    latents: { type: 'TENSOR', description: 'Latents of the images (of the samples’ targets).' },
    refLatents: { type: 'TENSOR', description: 'Samples only: latents of every reference, sample then slot order ([0, C, 0, 0] for images).' },
  },
  async execute(ctx) {
    const model = asAutoencoder(ctx.inputs.model, 'latent/Encode');
    const input = ctx.inputs.images as unknown;
    if (!Array.isArray(input) || input.length === 0) throw new RangeError('latent/Encode: the images input is empty or not a list');
    const samples = input.every(isSample);
    const images: ImageValue[] = samples ? (input as SemAlignSample[]).map((s) => s.target) : (input as ImageValue[]);
    const refs: ImageValue[] = samples ? (input as SemAlignSample[]).flatMap((s) => [...s.refs]) : [];
    const latents = await model.encode(images);
    const C = model.config.latentChannels;
    const refLatents = refs.length ? await model.encode(refs) : { shape: [0, C, 0, 0], data: new Float32Array(0) };
    ctx.log.info(`latent/Encode: ${images.length} image(s) → [${latents.shape.join(', ')}]${refs.length ? `, ${refs.length} reference(s) → [${refLatents.shape.join(', ')}]` : ''}`);
    return { latents, refLatents };
  },
});
