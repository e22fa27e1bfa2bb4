import { checkAutoencoder, type MosaicModel } from 'tessera/mosaic';

/**
 * Throws unless FocusDPO's programs can run on this MOSAIC model, before any pair is read. The
 * step graph declares mosaic's own condition inputs (so pose in the layout and pose-warped
 * reference positions trace as they do in mosaic), and a latent base's winners and losers are
 * encoded with its autoencoder; what is left to refuse by name is a latent model whose
 * autoencoder is missing, has no weights, or does not fit it (channels, down factor).
 */
export function checkSupportedBase(model: MosaicModel, node: string): void {
  const c = model.config;
  if (c.space === 'latent') checkAutoencoder(model.autoencoder, c, node);
}
