import { createHash } from 'node:crypto';
import type { AutoencoderModel } from 'tessera/latent';
import type { ImageValue } from 'tessera';
import type { SemAlignSample } from 'tessera/semalign';
import type { LatentLookup, SampleLatents } from './mosaicBatch.ts';
import type { MosaicConfig } from './MosaicConfig.ts';

/**
 * Latents per autoencoder weights and sample object: training encodes its data once, and a
 * sampler reusing the same samples (or a resumed run in the same process) does not encode again.
 * Weak maps, so dropped samples and handles take their latents with them.
 */
const caches = new WeakMap<object, WeakMap<SemAlignSample, SampleLatents>>();

/** Throws unless the autoencoder fits a latent MOSAIC config (channels, down factor, weights). */
export function checkAutoencoder(ae: AutoencoderModel | null, c: MosaicConfig, who: string): AutoencoderModel {
  if (!ae) throw new Error(`${who}: MOSAIC preset ${c.preset} works in an autoencoder's latent space; wire a latent/Autoencoder (with weights) into mosaic/Model's autoencoder input`);
  const bad: string[] = [];
  if (ae.config.latentChannels !== c.latentChannels) bad.push(`${ae.config.latentChannels} latent channels, the model expects ${c.latentChannels}`);
  if (ae.factor !== c.latentDown) bad.push(`down factor ${ae.factor}, the model expects ${c.latentDown}`);
  if (!ae.weights) bad.push('no weights (load a checkpoint in latent/Autoencoder or train it)');
  if (bad.length) throw new Error(`${who}: the autoencoder (${ae.config.preset}) does not fit MOSAIC ${c.preset}: ${bad.join('; ')}`);
  return ae;
}

/**
 * Encodes every sample's target and references that are not cached yet (targets and references in
 * separate batches: one image size per session) and returns a lookup for buildBatch.
 */
export async function encodeSamples(ae: AutoencoderModel, samples: readonly SemAlignSample[], signal?: AbortSignal): Promise<LatentLookup> {
  const key = ae.weights!.params as object;
  let cache = caches.get(key);
  if (!cache) caches.set(key, (cache = new WeakMap()));
  const missing = [...new Set(samples.filter((s) => !cache.has(s)))];
  const split = async (images: ImageValue[]): Promise<Float32Array[]> => {
    if (images.length === 0) return [];
    const z = await ae.encode(images);
    const per = z.shape.slice(1).reduce((a, b) => a * b, 1);
    const data = z.data as Float32Array;
    return images.map((_, i) => data.slice(i * per, (i + 1) * per));
  };
  const CHUNK = 512;
  for (let start = 0; start < missing.length; start += CHUNK) {
    signal?.throwIfAborted();
    const part = missing.slice(start, start + CHUNK);
    const targets = await split(part.map((s) => s.target));
    const refs = await split(part.flatMap((s) => [...s.refs]));
    let r = 0;
    part.forEach((s, i) => {
      cache.set(s, { target: targets[i]!, refs: s.refs.map(() => refs[r++]!) });
    });
  }
  return (s) => {
    const z = cache.get(s);
    if (!z) throw new Error(`mosaic: sample ${s.annotation.id} was not encoded`);
    return z;
  };
}

/** The lookup a batch needs: encoded latents for a 'latent' model, none for a pixel one. */
export async function latentsFor(model: { config: MosaicConfig; autoencoder: AutoencoderModel | null }, samples: readonly SemAlignSample[], who: string, signal?: AbortSignal): Promise<LatentLookup | undefined> {
  if (model.config.space !== 'latent') return undefined;
  return encodeSamples(checkAutoencoder(model.autoencoder, model.config, who), samples, signal);
}

/** Checkpoint metadata key: hash of the autoencoder weights a latent model was trained with. */
export const AUTOENCODER_KEY = 'mosaic.autoencoder';

/** A short hash of an autoencoder's weights (names, shapes and bytes, in name order). */
export function autoencoderHash(ae: AutoencoderModel): string {
  const params = ae.weights!.params;
  const h = createHash('sha256');
  for (const name of Object.keys(params).sort()) {
    const t = params[name]!;
    h.update(`${name}:${t.shape.join('x')};`);
    const d = t.data as Float32Array;
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * Reasons a latent checkpoint cannot be used with this autoencoder: its latents would decode
 * to something else. A checkpoint without the key (weights-only files from older exports) passes.
 */
export function autoencoderMismatch(meta: Readonly<Record<string, string>>, ae: AutoencoderModel | null): string[] {
  const saved = meta[AUTOENCODER_KEY];
  if (saved === undefined || !ae?.weights) return [];
  const now = autoencoderHash(ae);
  return saved === now ? [] : [`it was trained on autoencoder weights ${saved}, the autoencoder input has ${now} (a latent model only decodes with the autoencoder it was trained with)`];
}
