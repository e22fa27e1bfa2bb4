import { AutoencoderModel } from '../AutoencoderModel.ts';

/** The autoencoder handle on a MODEL port, or a clear error naming the node. */
export function asAutoencoder(x: unknown, node: string): AutoencoderModel {
  if (x instanceof AutoencoderModel) return x;
  const what = typeof x === 'object' && x !== null ? ((x as { kind?: string }).kind ?? x.constructor?.name ?? 'object') : typeof x;
  throw new TypeError(`${node}: the model input must be an autoencoder (from latent/Autoencoder), got ${what}`);
}
