import type { ImageValue } from 'tessera';

/**
 * A reference's silhouette as an RGB image: red 255 at every non-white pixel (reference
 * backgrounds are pure white), 0 elsewhere — warped like the reference, its red channel ≥ 128
 * marks where the warped reference shows its subject.
 */
export function silhouette(ref: ImageValue): ImageValue {
  const n = ref.width * ref.height;
  const ch = ref.channels;
  const data = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    if (ref.data[ch * p] !== 255 || ref.data[ch * p + 1] !== 255 || ref.data[ch * p + 2] !== 255) data[3 * p] = 255;
  }
  return { width: ref.width, height: ref.height, channels: 3, data };
}
