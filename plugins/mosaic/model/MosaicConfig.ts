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
   * are a function of that reference alone and could be cached across sampling steps).
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
}

const BASE = { targetSize: 64, refSize: 32, patch: 4, mlpRatio: 4, maxRefs: 8, refAttention: 'target', layoutPose: false } as const;

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
};

/** Names of the configuration fields that must agree between a checkpoint and a model. */
export const CONFIG_FIELDS = ['targetSize', 'refSize', 'patch', 'width', 'depth', 'heads', 'mlpRatio', 'loraRank', 'maxRefs', 'refAttention', 'layoutPose'] as const;

/** Box features per layout token: (x, y, w, h), plus with `layoutPose` (cos θ, sin θ, mirror ±1, ln scale, given 1/0). */
export function layoutDim(c: Pick<MosaicConfig, 'layoutPose'>): number {
  return c.layoutPose ? 9 : 4;
}

/** Derived sizes. */
export function dims(c: MosaicConfig) {
  const grid = c.targetSize / c.patch;
  const refGrid = c.refSize / c.patch;
  return {
    /** Target tokens (N). */
    n: grid * grid,
    /** Tokens per reference (L). */
    l: refGrid * refGrid,
    grid,
    refGrid,
    /** Values per patch token (RGB). */
    patchDim: c.patch * c.patch * 3,
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
  if (!bad.length) {
    if (c.targetSize % c.patch) bad.push(`patch ${c.patch} must divide targetSize ${c.targetSize}`);
    if (c.refSize % c.patch) bad.push(`patch ${c.patch} must divide refSize ${c.refSize}`);
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
  const saved: Partial<MosaicConfig> = { refAttention: 'target', layoutPose: false, ...stored };
  const out: string[] = [];
  for (const k of CONFIG_FIELDS) if (saved[k] !== model[k]) out.push(`${k}: ${saved[k] ?? 'missing'} in the checkpoint, ${model[k]} in the model`);
  return out;
}
