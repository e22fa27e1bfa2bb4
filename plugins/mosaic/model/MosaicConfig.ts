/**
 * Model configuration of the MOSAIC diffusion transformer and its presets. Pure data and checks:
 * a checkpoint records its config, and loading compares the two before any session is built.
 */

/** Everything that fixes the network's shapes (and therefore its parameters). */
export interface MosaicConfig {
  readonly preset: string;
  /** Target image side in pixels (SemAlign-Synth default 64). */
  readonly targetSize: number;
  /** Reference image side in pixels (default 32). */
  readonly refSize: number;
  /** Patch side in pixels for target and references (default 4 → 16×16 and 8×8 token grids). */
  readonly patch: number;
  readonly width: number;
  readonly depth: number;
  readonly heads: number;
  /** MLP hidden width as a multiple of `width`. */
  readonly mlpRatio: number;
  /** Rank of the reference branch's LoRA adapters (0: the reference branch shares the base weights exactly). */
  readonly loraRank: number;
  /** Most references the model accepts (its learned slot offsets). */
  readonly maxRefs: number;
  /**
   * What reference tokens attend to besides themselves: 'target' (MOSAIC's mask: the layout and
   * the target; other references only through the target, from the second block on) or 'self'
   * (the public code's kv_cache mode: references see only themselves, so each reference's tokens
   * are a function of that reference alone; eulerSample computes their K/V once per batch).
   */
  readonly refAttention: 'target' | 'self';
  /**
   * Whether each layout token also tells the subject's pose relative to its reference (cos/sin of
   * the rotation, mirror sign, log scale) and whether its layout is given at all (layout
   * dropout), so the condition determines the target. Adds the `embed.pose_w` parameter and
   * widens the `boxes` input to {@link layoutDim} features. false (every preset before v2, and
   * any checkpoint written before the field existed): box only, today's network exactly.
   */
  readonly layoutPose: boolean;
  /**
   * Where the tokens live: 'pixel' (patches of RGB pixels; every preset before v2) or 'latent'
   * (patches of the latent/Autoencoder grid: 64×64×3 → 16×16×`latentChannels`, MOSAIC v2). A
   * latent model needs an autoencoder handle to encode its data and decode its samples.
   */
  readonly space: 'pixel' | 'latent';
  /** Latent channels per cell ('latent' only; must match the autoencoder). */
  readonly latentChannels: number;
  /** Image pixels per latent cell side ('latent' only; the autoencoder's down factor). */
  readonly latentDown: number;
  /** Latents are multiplied by this before the network sees them (unit variance; 'latent' only). */
  readonly latentScale: number;
  /**
   * Position features of reference tokens: 'grid' (the reference's own grid stretched over the
   * image) or 'pose' (each reference token gets the position of where the layout's pose puts it
   * in the target: box centre, rotation, mirror and scale; a reference whose layout is dropped
   * keeps 'grid'). 'pose' needs `layoutPose`.
   */
  readonly refPositions: 'grid' | 'pose';
}

const BASE = {
  targetSize: 64,
  refSize: 32,
  patch: 4,
  mlpRatio: 4,
  maxRefs: 8,
  refAttention: 'target',
  layoutPose: false,
  space: 'pixel',
  latentChannels: 8,
  latentDown: 4,
  latentScale: 1,
  refPositions: 'grid',
} as const;

/**
 * MOSAIC v2 in the latent space of latent/Autoencoder `small`: 2×2 latent cells per token (8×8
 * pixels), so a target is 64 tokens and a reference 16, the pose in the layout, pose-warped
 * reference positions. latentScale 1.87 = 1 / the standard deviation (0.535) of the bundled
 * autoencoder's target latents (200 training targets).
 */
const LATENT = { ...BASE, patch: 2, space: 'latent', latentScale: 1.87, layoutPose: true, refPositions: 'pose' } as const;

/**
 * Presets. `tiny` trains a few steps in seconds (tests); `small` is sized from the measured step
 * time of one 512-token width-128 block on this 2-core machine so a run reaches useful quality
 * in about a quarter of an hour (docs/results.md).
 */
export const PRESETS: Readonly<Record<string, MosaicConfig>> = {
  tiny: { preset: 'tiny', ...BASE, width: 32, depth: 2, heads: 2, loraRank: 4 },
  small: { preset: 'small', ...BASE, width: 128, depth: 4, heads: 4, loraRank: 16 },
  /** `small` told each subject's pose relative to its reference (MOSAIC v2's well-posed task). */
  'small-v2': { preset: 'small-v2', ...BASE, width: 128, depth: 4, heads: 4, loraRank: 16, layoutPose: true },
  /** Latent-space MOSAIC v2 for tests (seconds). */
  'latent-tiny': { preset: 'latent-tiny', ...LATENT, latentChannels: 4, latentScale: 1, width: 32, depth: 2, heads: 2, loraRank: 4 },
  /** Latent-space MOSAIC v2 (the bundled v2 checkpoint; docs/results.md). */
  'latent-v2': { preset: 'latent-v2', ...LATENT, width: 128, depth: 6, heads: 4, loraRank: 16 },
};

/** Names of the configuration fields that must agree between a checkpoint and a model. */
export const CONFIG_FIELDS = ['targetSize', 'refSize', 'patch', 'width', 'depth', 'heads', 'mlpRatio', 'loraRank', 'maxRefs', 'refAttention', 'layoutPose', 'space', 'latentChannels', 'latentDown', 'latentScale', 'refPositions'] as const;

/** Values of fields added after the first checkpoints were written: what every earlier model had. */
const LEGACY = { refAttention: 'target', layoutPose: false, space: 'pixel', latentChannels: 8, latentDown: 4, latentScale: 1, refPositions: 'grid' } as const;

/** Box features per layout token: (x, y, w, h), plus with `layoutPose` (cos θ, sin θ, mirror ±1, ln scale, given 1/0). */
export function layoutDim(c: Pick<MosaicConfig, 'layoutPose'>): number {
  return c.layoutPose ? 9 : 4;
}

/** Derived sizes. */
export function dims(c: MosaicConfig) {
  const latent = c.space === 'latent';
  /** Image pixels per token side. */
  const tokenPixels = latent ? c.patch * c.latentDown : c.patch;
  const grid = c.targetSize / tokenPixels;
  const refGrid = c.refSize / tokenPixels;
  const channels = latent ? c.latentChannels : 3;
  return {
    /** Target tokens (N). */
    n: grid * grid,
    /** Tokens per reference (L). */
    l: refGrid * refGrid,
    grid,
    refGrid,
    tokenPixels,
    /** Values per cell: 3 (RGB) or the latent channels. */
    channels,
    /** Values per patch token: patch² cells × channels. */
    patchDim: c.patch * c.patch * channels,
    headDim: c.width / c.heads,
    hidden: c.width * c.mlpRatio,
  };
}

/** Throws a RangeError naming every invalid field at once. */
export function validateConfig(c: MosaicConfig): void {
  const bad: string[] = [];
  const int = (k: keyof MosaicConfig, lo: number, hi: number) => {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v < lo || v > hi) bad.push(`${k} must be an integer in [${lo}, ${hi}], got ${v}`);
  };
  int('targetSize', 8, 1024);
  int('refSize', 4, 1024);
  int('patch', 1, 64);
  int('width', 4, 4096);
  int('depth', 1, 64);
  int('heads', 1, 64);
  int('mlpRatio', 1, 16);
  int('loraRank', 0, 1024);
  int('maxRefs', 1, 16);
  if (c.refAttention !== 'target' && c.refAttention !== 'self') bad.push(`refAttention must be 'target' or 'self', got ${String(c.refAttention)}`);
  if (typeof c.layoutPose !== 'boolean') bad.push(`layoutPose must be true or false, got ${String(c.layoutPose)}`);
  if (c.space !== 'pixel' && c.space !== 'latent') bad.push(`space must be 'pixel' or 'latent', got ${String(c.space)}`);
  if (c.refPositions !== 'grid' && c.refPositions !== 'pose') bad.push(`refPositions must be 'grid' or 'pose', got ${String(c.refPositions)}`);
  int('latentChannels', 1, 256);
  int('latentDown', 1, 64);
  if (!(typeof c.latentScale === 'number' && c.latentScale > 0 && Number.isFinite(c.latentScale))) bad.push(`latentScale must be a positive number, got ${String(c.latentScale)}`);
  if (c.refPositions === 'pose' && c.layoutPose !== true) bad.push(`refPositions 'pose' needs layoutPose (the pose it warps by is part of the layout)`);
  if (!bad.length) {
    const px = c.space === 'latent' ? c.patch * c.latentDown : c.patch;
    const unit = c.space === 'latent' ? `patch ${c.patch} × latentDown ${c.latentDown} = ${px} pixels` : `patch ${c.patch}`;
    if (c.targetSize % px) bad.push(`${unit} must divide targetSize ${c.targetSize}`);
    if (c.refSize % px) bad.push(`${unit} must divide refSize ${c.refSize}`);
    if (c.width % c.heads) bad.push(`width ${c.width} must be divisible by heads ${c.heads}`);
    if (c.width % 4) bad.push(`width ${c.width} must be a multiple of 4 (2-D sine/cosine position features)`);
  }
  if (bad.length) throw new RangeError(`invalid MOSAIC config (${c.preset}):\n  ${bad.join('\n  ')}`);
}

/** A preset with optional overrides; unknown preset names list the known ones. */
export function resolveConfig(preset: string, overrides: Partial<Omit<MosaicConfig, 'preset'>> = {}): MosaicConfig {
  const base = PRESETS[preset];
  if (!base) throw new RangeError(`unknown MOSAIC preset '${preset}' (known: ${Object.keys(PRESETS).join(', ')})`);
  const changed = Object.entries(overrides).filter(([k, v]) => v !== undefined && v !== (base as unknown as Record<string, unknown>)[k]);
  const c = { ...base, ...Object.fromEntries(changed), preset: changed.length ? `${preset}+custom` : preset } as MosaicConfig;
  validateConfig(c);
  return c;
}

/** Differences between a checkpoint's config and a model's, as readable lines (empty: compatible). */
export function configDifferences(stored: Partial<MosaicConfig>, model: MosaicConfig): string[] {
  // Fields added after a checkpoint was written take the value every earlier model had.
  const saved: Partial<MosaicConfig> = { ...LEGACY, ...stored };
  const out: string[] = [];
  for (const k of CONFIG_FIELDS) if (saved[k] !== model[k]) out.push(`${k}: ${saved[k] ?? 'missing'} in the checkpoint, ${model[k]} in the model`);
  return out;
}
