import { resolve } from 'node:path';
import { Predictor, type Tensor } from 'tessera/kernels';

/** What {@link loadCheckedWeights} checks a checkpoint against, and how its messages read. */
export interface CheckedWeightsSpec<C extends { readonly preset: string }> {
  /** Prefix of every message (the plugin), e.g. `mosaic`. */
  readonly owner: string;
  /** The model in words, e.g. `a MOSAIC checkpoint`. */
  readonly kind: string;
  /** The network in words after "does not match the <preset> …", e.g. `network`. */
  readonly network: string;
  /** Who asks for the preset, e.g. `the model node`. */
  readonly asker: string;
  /** What to do about a config mismatch, e.g. `set the Model node's preset to match, or pick another checkpoint`. */
  readonly hint: string;
  /** Metadata key holding the config as JSON. */
  readonly configKey: string;
  readonly config: C;
  /** Differences between the recorded config and `config`, one line each (empty: compatible). */
  configDifferences(saved: Partial<C>, c: C): string[];
  /** Every parameter name and shape the config traces. */
  readonly expected: ReadonlyMap<string, readonly number[]>;
  /** Further reasons the checkpoint's metadata rules it out (empty: none), e.g. another autoencoder. */
  readonly checkMetadata?: (metadata: Readonly<Record<string, string>>) => string[];
}

/**
 * Loads a checkpoint (a train/Train checkpoint or a weights-only file) after checking, before any
 * session is built, that it was written for this config: the recorded config first (the clearest
 * message), then every parameter name and shape. Shared by the model plugins, so every model
 * refuses a foreign checkpoint in the same words.
 */
export async function loadCheckedWeights<C extends { readonly preset: string }>(
  path: string,
  spec: CheckedWeightsSpec<C>,
): Promise<{ params: Record<string, Tensor>; source: string; step: number }> {
  const { owner, config: c } = spec;
  const file = resolve(path);
  let loaded: Awaited<ReturnType<typeof Predictor.paramsFromCheckpoint>>;
  try {
    loaded = await Predictor.paramsFromCheckpoint(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${owner}: cannot read checkpoint ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const { params, metadata } = loaded;
  const raw = metadata[spec.configKey];
  if (!raw) throw new Error(`${owner}: ${file} is not ${spec.kind} (its metadata has no ${spec.configKey})`);
  let saved: Partial<C>;
  try {
    saved = JSON.parse(raw) as Partial<C>;
  } catch {
    throw new Error(`${owner}: ${file} has an unreadable ${spec.configKey} (not JSON)`);
  }
  const diff = spec.configDifferences(saved, c);
  if (diff.length) {
    throw new Error(`${owner}: checkpoint ${file} was trained with preset '${saved.preset ?? '?'}', ${spec.asker} asks for '${c.preset}':\n  ${diff.join('\n  ')}\n(${spec.hint})`);
  }
  const other = spec.checkMetadata?.(metadata) ?? [];
  if (other.length) throw new Error(`${owner}: checkpoint ${file} cannot be used here:\n  ${other.join('\n  ')}\n(${spec.hint})`);
  const problems: string[] = [];
  for (const [name, shape] of spec.expected) {
    const t = params[name] as Tensor | undefined;
    if (!t) problems.push(`missing '${name}'`);
    else if (t.shape.join(',') !== shape.join(',')) problems.push(`'${name}' is [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  for (const name of Object.keys(params)) if (!spec.expected.has(name)) problems.push(`unexpected '${name}'`);
  if (problems.length) throw new Error(`${owner}: checkpoint ${file} does not match the ${c.preset} ${spec.network}:\n  ${problems.slice(0, 20).join('\n  ')}`);
  return { params: params as Record<string, Tensor>, source: file, step: Number(metadata.step ?? 0) };
}
