import type { ImageValue } from 'tessera';
import type { SemAlignSample } from 'tessera/semalign';

/**
 * Subject pixels of SemAlign images, 1 = subject. A target's come from its label map (exact).
 * A reference is one subject on a pure white background (semalign's renderReference), and the
 * sample keeps no reference mask, so a reference's subject pixels are its non-white pixels: a
 * subject pixel that happens to be pure white counts as background (rare; it only shifts weight).
 */
export function targetMask(sample: SemAlignSample): Uint8Array {
  const label = sample.label.data;
  const out = new Uint8Array(label.length);
  for (let p = 0; p < label.length; p++) out[p] = label[p]! > 0 ? 1 : 0;
  return out;
}

export function referenceMask(ref: ImageValue): Uint8Array {
  const n = ref.width * ref.height;
  const ch = ref.channels;
  const out = new Uint8Array(n);
  for (let p = 0; p < n; p++) out[p] = ref.data[p * ch] !== 255 || ref.data[p * ch + 1] !== 255 || ref.data[p * ch + 2] !== 255 ? 1 : 0;
  return out;
}

/** An image with its subject mask: one training or evaluation item. */
export interface MaskedImage {
  readonly image: ImageValue;
  readonly mask: Uint8Array;
}

/** Every target and reference of the samples, each with its subject mask, in sample order. */
export function maskedImages(samples: readonly SemAlignSample[], which: 'targets' | 'refs' | 'both' = 'both'): MaskedImage[] {
  const out: MaskedImage[] = [];
  for (const s of samples) {
    if (which !== 'refs') out.push({ image: s.target, mask: targetMask(s) });
    if (which !== 'targets') for (const r of s.refs) out.push({ image: r, mask: referenceMask(r) });
  }
  return out;
}
