import { resolve } from 'node:path';
import { Predictor, type Tensor } from 'tessera/kernels';
import type { AutoencoderWeights } from './AutoencoderModel.ts';
import { CONFIG_KEY } from './AutoencoderTrainingProgram.ts';
import { configDifferences, type AutoencoderConfig } from './config.ts';
import { expectedParams } from './programs.ts';

/**
 * Loads autoencoder weights (a train/Train checkpoint or a weights-only file) after checking,
 * before any session is built, that they were written for this config: the recorded config first
 * (the clearest message), then every parameter name and shape.
 */
export async function loadWeights(path: string, c: AutoencoderConfig): Promise<AutoencoderWeights> {
  const file = resolve(path);
  let loaded: Awaited<ReturnType<typeof Predictor.paramsFromCheckpoint>>;
  try {
    loaded = await Predictor.paramsFromCheckpoint(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`latent: cannot read checkpoint ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const { params, metadata } = loaded;
  const raw = metadata[CONFIG_KEY];
  if (!raw) throw new Error(`latent: ${file} is not an autoencoder checkpoint (its metadata has no ${CONFIG_KEY})`);
  let saved: Partial<AutoencoderConfig>;
  try {
    saved = JSON.parse(raw) as Partial<AutoencoderConfig>;
  } catch {
    throw new Error(`latent: ${file} has an unreadable ${CONFIG_KEY} (not JSON)`);
  }
  const diff = configDifferences(saved, c);
  if (diff.length) {
    throw new Error(`latent: checkpoint ${file} was trained with preset '${saved.preset ?? '?'}', the Autoencoder node asks for '${c.preset}':\n  ${diff.join('\n  ')}\n(set the node's preset to match, or pick another checkpoint)`);
  }
  const want = expectedParams(c);
  const problems: string[] = [];
  for (const [name, shape] of want) {
    const t = params[name] as Tensor | undefined;
    if (!t) problems.push(`missing '${name}'`);
    else if (t.shape.join(',') !== shape.join(',')) problems.push(`'${name}' is [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  for (const name of Object.keys(params)) if (!want.has(name)) problems.push(`unexpected '${name}'`);
  if (problems.length) throw new Error(`latent: checkpoint ${file} does not match the ${c.preset} autoencoder:\n  ${problems.slice(0, 20).join('\n  ')}`);
  return { params, source: file, step: Number(metadata.step ?? 0) };
}
