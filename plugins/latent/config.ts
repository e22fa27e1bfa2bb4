/**
 * Configuration of the latent autoencoder and its presets. Pure data and checks: a checkpoint
 * records its config, and loading compares the two before any session is built.
 */

/** Everything that fixes the network's shapes (and therefore its parameters). */
export interface AutoencoderConfig {
  readonly preset: string;
  /**
   * Channels per resolution level, full resolution first. Each level after the first halves the
   * side with a stride-2 convolution, so the latent side is the image side / 2^(levels − 1).
   */
  readonly channels: readonly number[];
  /** Residual blocks (two 3×3 convolutions each) per level, in the encoder and in the decoder. */
  readonly resBlocks: number;
  /** Channels of the latent grid. */
  readonly latentChannels: number;
}

/**
 * Presets. `tiny` trains a few steps in seconds (tests). `small` is the v2 latent space:
 * 64×64×3 → 16×16×8 (docs/latent.md), sized so a training step of 16 images takes a fraction of
 * a second on this 2-core machine.
 */
export const PRESETS: Readonly<Record<string, AutoencoderConfig>> = {
  tiny: { preset: 'tiny', channels: [4, 8, 8], resBlocks: 1, latentChannels: 4 },
  small: { preset: 'small', channels: [16, 48, 64], resBlocks: 1, latentChannels: 8 },
};

/** Names of the fields that must agree between a checkpoint and a model. */
export const CONFIG_FIELDS = ['channels', 'resBlocks', 'latentChannels'] as const;

/** Side of the latent grid per side of the image. */
export const downFactor = (c: AutoencoderConfig): number => 2 ** (c.channels.length - 1);

/** Throws a RangeError naming every invalid field at once. */
export function validateConfig(c: AutoencoderConfig): void {
  const bad: string[] = [];
  const okInt = (v: unknown, lo: number, hi: number) => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
  if (!Array.isArray(c.channels) || c.channels.length < 1 || c.channels.length > 6 || !c.channels.every((v) => okInt(v, 1, 1024))) {
    bad.push(`channels must be 1…6 integers in [1, 1024], got ${JSON.stringify(c.channels)}`);
  }
  if (!okInt(c.resBlocks, 0, 16)) bad.push(`resBlocks must be an integer in [0, 16], got ${String(c.resBlocks)}`);
  if (!okInt(c.latentChannels, 1, 256)) bad.push(`latentChannels must be an integer in [1, 256], got ${String(c.latentChannels)}`);
  if (bad.length) throw new RangeError(`invalid autoencoder config (${c.preset}):\n  ${bad.join('\n  ')}`);
}

/** A preset with optional overrides; unknown preset names list the known ones. */
export function resolveConfig(preset: string, overrides: Partial<Omit<AutoencoderConfig, 'preset'>> = {}): AutoencoderConfig {
  const base = Object.hasOwn(PRESETS, preset) ? PRESETS[preset] : undefined;
  if (!base) throw new RangeError(`unknown autoencoder preset '${preset}' (known: ${Object.keys(PRESETS).join(', ')})`);
  const changed = CONFIG_FIELDS.filter((k) => overrides[k] !== undefined && JSON.stringify(overrides[k]) !== JSON.stringify(base[k]));
  const c: AutoencoderConfig = { ...base, ...Object.fromEntries(changed.map((k) => [k, overrides[k]])), preset: changed.length ? `${preset}+custom` : preset };
  validateConfig(c);
  return c;
}

/** Differences between a checkpoint's config and a model's, as readable lines (empty: compatible). */
export function configDifferences(saved: Partial<AutoencoderConfig>, model: AutoencoderConfig): string[] {
  const out: string[] = [];
  for (const k of CONFIG_FIELDS) {
    const a = JSON.stringify(saved[k]);
    const b = JSON.stringify(model[k]);
    if (a !== b) out.push(`${k}: ${a ?? 'missing'} in the checkpoint, ${b} in the model`);
  }
  return out;
}
