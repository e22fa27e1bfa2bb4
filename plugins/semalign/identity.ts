import { Prng } from './prng.ts';

/** Size of the identity space: identities are the integers `0 .. IDENTITY_SPACE - 1`. */
export const IDENTITY_SPACE = 1 << 24;

/** Body-shape families (3 bits of the identity code). */
export const FAMILIES = ['ellipse', 'superellipse', 'star', 'blob', 'polygon', 'crescent', 'cross', 'peanut'] as const;
/** Texture patterns (3 bits). */
export const PATTERNS = ['stripes', 'dots', 'checks', 'gradient', 'rings', 'noise', 'waves', 'plaid'] as const;
/** Asymmetric pose markers (2 bits). */
export const MARKERS = ['eye', 'notch', 'bar', 'ring'] as const;
/** Accessories (2 bits). */
export const ACCESSORIES = ['none', 'collar', 'badge', 'rim'] as const;

export type Family = (typeof FAMILIES)[number];
export type Pattern = (typeof PATTERNS)[number];
export type Marker = (typeof MARKERS)[number];
export type Accessory = (typeof ACCESSORIES)[number];
export type Rgb = readonly [number, number, number];

/**
 * A subject: everything needed to render it, derived from its identity number alone.
 * Discrete attributes come from a bijection of the id (so distinct ids → distinct tuples);
 * continuous ones (aspect, frequency, jitter) from a PRNG seeded by the id.
 */
export interface Identity {
  readonly id: number;
  readonly family: Family;
  readonly pattern: Pattern;
  readonly marker: Marker;
  readonly accessory: Accessory;
  /** Primary hue bin 0..15; scenes keep these pairwise distinct so subjects are separable. */
  readonly hueBin: number;
  /** 2–3 colors: [primary, secondary, tertiary]; the tertiary is used by plaid/accessories. */
  readonly palette: readonly [Rgb, Rgb, Rgb];
  /** Pattern spatial frequency in cycles per subject diameter. */
  readonly frequency: number;
  /** Pattern orientation in radians (subject space). */
  readonly orientation: number;
  /** Shape parameters, meaning depends on the family (all in [0, 1)). */
  readonly shape: readonly [number, number, number, number, number, number];
}

/**
 * A bijection of [0, 2^24): the identity code is scrambled so neighbouring ids differ in every
 * attribute (splits are id ranges, and a range must not be all "ellipses").
 */
export function scrambleId(id: number): number {
  let x = id & 0xffffff;
  for (let r = 0; r < 3; r++) {
    x = (x * 0x9e3779 + 0x5bd1e9 * (r + 1)) & 0xffffff; // odd multiplier: bijective mod 2^24
    x ^= x >>> 11;
    x ^= (x << 7) & 0xffffff;
  }
  return x;
}

function hsl(h: number, s: number, l: number): Rgb {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const hp = (((h % 360) + 360) % 360) / 60;
  const x = c * (1 - Math.abs((hp % 2) - 1));
  const [r, g, b] =
    hp < 1 ? [c, x, 0] : hp < 2 ? [x, c, 0] : hp < 3 ? [0, c, x] : hp < 4 ? [0, x, c] : hp < 5 ? [x, 0, c] : [c, 0, x];
  const m = l - c / 2;
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

/** Primary hue bin of an identity without building it (scene sampling tests many candidates). */
export function hueBinOf(id: number): number {
  return (scrambleId(id) >>> 6) & 15;
}

const cache = new Map<number, Identity>();

/** Builds (and memoises a bounded number of) identities from their id. */
export function identityFromId(id: number): Identity {
  if (!Number.isInteger(id) || id < 0 || id >= IDENTITY_SPACE) {
    throw new RangeError(`identity must be an integer in [0, ${IDENTITY_SPACE}), got ${id}`);
  }
  const hit = cache.get(id);
  if (hit) return hit;
  const code = scrambleId(id);
  // 24 bits: family 3 | pattern 3 | hue 4 | hue offset 3 | tone 2 | marker 2 | accessory 2 | freq 3 | variant 2
  const family = FAMILIES[code & 7]!;
  const pattern = PATTERNS[(code >>> 3) & 7]!;
  const hueBin = (code >>> 6) & 15;
  const hueOffset = (code >>> 10) & 7;
  const tone = (code >>> 13) & 3;
  const marker = MARKERS[(code >>> 15) & 3]!;
  const accessory = ACCESSORIES[(code >>> 17) & 3]!;
  const freqBin = (code >>> 19) & 7;
  const variant = (code >>> 22) & 3;
  const rng = new Prng(id ^ 0x5e3a1);
  const h1 = hueBin * 22.5 + (rng.float() - 0.5) * 8;
  const h2 = h1 + 70 + hueOffset * 30; // 70°..280° away: the two colors always contrast in hue
  const tones: readonly (readonly [number, number, number, number])[] = [
    [0.85, 0.5, 0.75, 0.3], // saturated primary, dark secondary
    [0.8, 0.35, 0.6, 0.72], // dark primary, light secondary
    [0.65, 0.6, 0.9, 0.45],
    [0.95, 0.42, 0.5, 0.62],
  ];
  const [s1, l1, s2, l2] = tones[tone]!;
  const palette: [Rgb, Rgb, Rgb] = [hsl(h1, s1, l1), hsl(h2, s2, l2), hsl(h1 + 180, 0.25, l1 > 0.45 ? 0.15 : 0.9)];
  const identity: Identity = {
    id,
    family,
    pattern,
    marker,
    accessory,
    hueBin,
    palette,
    frequency: 2 + freqBin * 0.5 + rng.float() * 0.4,
    orientation: (variant * Math.PI) / 4 + (rng.float() - 0.5) * 0.3,
    shape: [rng.float(), rng.float(), rng.float(), rng.float(), rng.float(), rng.float()],
  };
  if (cache.size > 4096) cache.clear();
  cache.set(id, identity);
  return identity;
}

/** Identity ranges per split: disjoint, contiguous, covering the identity space. */
export const SPLITS = {
  train: [0, 14_000_000],
  val: [14_000_000, 15_000_000],
  test: [15_000_000, IDENTITY_SPACE],
} as const satisfies Record<string, readonly [number, number]>;

export type Split = keyof typeof SPLITS;

/** Which split an identity belongs to. */
export function splitOfIdentity(id: number): Split {
  for (const [name, [lo, hi]] of Object.entries(SPLITS)) if (id >= lo && id < hi) return name as Split;
  throw new RangeError(`identity ${id} is outside every split`);
}
