import type { ImageValue } from 'tessera';
import { Tensor } from 'tessera/kernels';

/**
 * Pixels ↔ network tensors: bytes map to [-1, 1] (v / 127.5 − 1), NCHW float32; back by
 * clipping and rounding. All checks happen here, before any session is built.
 */

const isImage = (x: unknown): x is ImageValue => {
  const i = x as ImageValue | null;
  return !!i && typeof i === 'object' && Number.isInteger(i.width) && Number.isInteger(i.height) && (i.channels === 1 || i.channels === 3 || i.channels === 4) && i.data instanceof Uint8Array && i.data.length === i.width * i.height * i.channels;
};

/**
 * Checks a batch of images for the autoencoder: RGB or RGBA (alpha dropped), all the same size,
 * each side a positive multiple of `factor` (the latent grid must tile the image exactly).
 * Returns the common [height, width]; throws a RangeError naming the first offending image.
 */
export function checkImages(images: readonly unknown[], factor: number, what: string): [number, number] {
  if (!Array.isArray(images) || images.length === 0) throw new RangeError(`${what}: no images`);
  let size: [number, number] | null = null;
  images.forEach((im, i) => {
    if (!isImage(im)) throw new TypeError(`${what}: item ${i} is not an image ({ width, height, channels 1|3|4, data: Uint8Array })`);
    if (im.channels === 1) throw new RangeError(`${what}: image ${i} has 1 channel; the autoencoder takes RGB (3) or RGBA (4)`);
    if (im.width % factor || im.height % factor || im.width < factor || im.height < factor) {
      throw new RangeError(`${what}: image ${i} is ${im.width}×${im.height}; both sides must be positive multiples of ${factor} (the latent grid is 1/${factor} of the image side)`);
    }
    if (!size) size = [im.height, im.width];
    else if (im.height !== size[0] || im.width !== size[1]) throw new RangeError(`${what}: image ${i} is ${im.width}×${im.height}, image 0 is ${size[1]}×${size[0]}; a batch must be one size`);
  });
  return size!;
}

/** Images (already checked) → float32 [B, 3, H, W] in [-1, 1]. */
export function imagesToTensor(images: readonly ImageValue[]): Tensor {
  const { width: W, height: H } = images[0]!;
  const plane = W * H;
  const out = new Float32Array(images.length * 3 * plane);
  images.forEach((im, b) => {
    const ch = im.channels;
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[(b * 3 + c) * plane + p] = im.data[p * ch + c]! / 127.5 - 1;
  });
  return new Tensor('float32', [images.length, 3, H, W], out);
}

/** Float [B, 3, H, W] in [-1, 1] (values outside are clipped) → RGB images. */
export function tensorToImages(t: { shape: readonly number[]; data: ArrayLike<number> }): ImageValue[] {
  const [B, C, H, W] = t.shape as number[];
  if (t.shape.length !== 4 || C !== 3) throw new RangeError(`expected decoded images [B, 3, H, W], got [${t.shape.join(', ')}]`);
  const plane = H! * W!;
  return Array.from({ length: B! }, (_, b) => {
    const data = new Uint8Array(plane * 3);
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        const v = Math.round((t.data[(b * 3 + c) * plane + p]! + 1) * 127.5);
        data[p * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
    return { width: W!, height: H!, channels: 3, data };
  });
}
