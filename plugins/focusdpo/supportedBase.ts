import type { MosaicModel } from 'tessera/mosaic';

/**
 * Throws unless FocusDPO's programs can run on this MOSAIC model. They are traced for the v1
 * condition (box-only layout, reference grid positions, pixel tokens); a v2 model (pose in the
 * layout, pose-warped positions, latent tokens) would fail later with a shape error, so it is
 * refused here by name. Extending dpoProgram to v2 inputs is open work (issue 14).
 */
export function checkSupportedBase(model: MosaicModel, node: string): void {
  const c = model.config;
  const bad = [c.layoutPose && 'pose in the layout', c.refPositions === 'pose' && 'pose-warped reference positions', c.space === 'latent' && 'latent tokens'].filter(Boolean);
  if (bad.length) throw new RangeError(`${node}: FocusDPO runs on pixel-space MOSAIC models with box-only layouts (presets tiny, small); ${c.preset} has ${bad.join(', ')}`);
}
