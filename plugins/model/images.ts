import type { ImageValue } from 'tessera';

const isImage = (x: unknown): x is ImageValue => {
  const i = x as ImageValue | null;
  return !!i && typeof i === 'object' && Number.isInteger(i.width) && Number.isInteger(i.height) && (i.channels === 1 || i.channels === 3 || i.channels === 4) && i.data instanceof Uint8Array && i.data.length === i.width * i.height * i.channels;
};

/**
 * The training images in `data`: a list of images (DATASET) or SemAlign samples (their target
 * images). Anything else is a TypeError naming the first bad item.
 */
export function trainingImages(data: unknown): ImageValue[] {
  if (!Array.isArray(data) || data.length === 0) throw new TypeError('model: the training data must be a non-empty list of images or SemAlign samples');
  return data.map((item, i) => {
    const image = isImage(item) ? item : (item as { target?: unknown } | null)?.target;
    if (!isImage(image)) throw new TypeError(`model: training item ${i} is neither an image ({ width, height, channels, data }) nor a SemAlign sample`);
    if (image.channels === 1) throw new RangeError(`model: training image ${i} has 1 channel; the model's image input takes RGB`);
    return image;
  });
}

/**
 * An image averaged down to width × height over whole blocks (each side must divide the image's):
 * a SemAlign 64×64 target becomes the 16×16 a tiny DiT export takes, without resampling artefacts.
 */
export function boxDownsample(im: ImageValue, width: number, height: number, what: string): ImageValue {
  if (im.width === width && im.height === height) return im;
  if (im.width % width || im.height % height) throw new RangeError(`${what} is ${im.width}×${im.height}; the model takes ${width}×${height}, and the sides must divide evenly`);
  const fx = im.width / width;
  const fy = im.height / height;
  const ch = im.channels;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = 0; dy < fy; dy++) for (let dx = 0; dx < fx; dx++) s += im.data[((y * fy + dy) * im.width + x * fx + dx) * ch + c]!;
        data[(y * width + x) * 3 + c] = Math.round(s / (fx * fy));
      }
    }
  }
  return { width, height, channels: 3, data };
}
