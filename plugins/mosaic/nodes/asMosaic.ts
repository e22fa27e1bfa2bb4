import { MosaicModel } from '../model/MosaicModel.ts';

/** The MOSAIC handle on a MODEL port, or a clear error naming the node. */
export function asMosaic(x: unknown, node: string): MosaicModel {
  if (x instanceof MosaicModel) return x;
  const what = typeof x === 'object' && x !== null ? ((x as { kind?: string }).kind ?? x.constructor?.name ?? 'object') : typeof x;
  throw new TypeError(`${node}: the model input must be a MOSAIC model (from mosaic/Model), got ${what}`);
}
