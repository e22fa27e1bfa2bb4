import type { ImageValue } from 'tessera';

const isImage = (x: unknown): x is ImageValue => {
  const i = x as ImageValue | null;
  return !!i && typeof i === 'object' && Number.isInteger(i.width) && Number.isInteger(i.height) && (i.channels === 1 || i.channels === 3 || i.channels === 4) && i.data instanceof Uint8Array && i.data.length === i.width * i.height * i.channels;
};

/**
 * The training images in `data`: a list of images (DATASET) or SemAlign samples (their target
 * images). Anything else is a TypeError naming the first bad item (`role` names the data in errors).
 */
export function trainingImages(data: unknown, role = 'training'): ImageValue[] {
  if (!Array.isArray(data) || data.length === 0) throw new TypeError(`model: the ${role} data must be a non-empty list of images or SemAlign samples`);
  return data.map((item, i) => {
    const image = isImage(item) ? item : (item as { target?: unknown } | null)?.target;
    if (!isImage(image)) throw new TypeError(`model: ${role} item ${i} is neither an image ({ width, height, channels, data }) nor a SemAlign sample`);
    if (image.channels === 1) throw new RangeError(`model: ${role} image ${i} has 1 channel; the model's image input takes RGB`);
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

/** A training sample with references: a SemAlign sample as far as the imported model reads it. */
export interface ReferenceSample {
  readonly annotation: { readonly id: string; readonly k: number };
  readonly target: ImageValue;
  readonly refs: readonly ImageValue[];
}

/**
 * `data` as samples with reference images (SemAlign samples), each checked: an RGB target and
 * `annotation.k` RGB references. `why` says what needs the references and `role` names the data (for the errors).
 */
export function referenceSamples(data: unknown, why: string, role = 'training'): ReferenceSample[] {
  if (!Array.isArray(data) || data.length === 0) throw new TypeError(`model: ${why} needs SemAlign samples (with reference images) as ${role} data, got ${Array.isArray(data) ? 'an empty list' : typeof data}`);
  return data.map((item, i) => {
    const s = item as Partial<ReferenceSample> | null;
    const id = s?.annotation && typeof s.annotation.id === 'string' ? s.annotation.id : `#${i}`;
    if (!s || !isImage(s.target) || !Array.isArray(s.refs) || !s.annotation || !Number.isInteger(s.annotation.k)) {
      throw new TypeError(`model: ${role} item ${i} is no SemAlign sample (target, refs, annotation); ${why} needs reference images`);
    }
    if (s.refs.length !== s.annotation.k || s.refs.length === 0 || !s.refs.every(isImage)) throw new TypeError(`model: sample ${id} has ${s.refs.length} reference images for k = ${s.annotation.k}`);
    if ([s.target, ...s.refs].some((im) => im.channels === 1)) throw new RangeError(`model: sample ${id} has a 1-channel image; the model takes RGB`);
    return s as ReferenceSample;
  });
}
