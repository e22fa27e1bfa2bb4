import { resolve } from 'node:path';
import { Graph, Predictor, type Tensor } from 'tessera/kernels';
import { configDifferences, type MosaicConfig } from './MosaicConfig.ts';
import { velocityProgram } from './mosaicPrograms.ts';
import type { MosaicWeights } from './MosaicModel.ts';
import { CONFIG_KEY } from '../training/MosaicTrainingProgram.ts';

/** Names and shapes of every parameter a config traces (independent of K). */
export function expectedParams(c: MosaicConfig): Map<string, readonly number[]> {
  const g = new Graph();
  velocityProgram(c, 1, 1)(g);
  return new Map([...g.params.values()].map((p) => [p.name, p.shape]));
}

/**
 * Loads a MOSAIC checkpoint (a training checkpoint or a weights-only file) after checking, before
 * any session is built, that it was written for this config: the recorded config first (the
 * clearest message), then every parameter name and shape.
 */
export async function loadWeights(path: string, c: MosaicConfig): Promise<MosaicWeights> {
  const file = resolve(path);
  let loaded: Awaited<ReturnType<typeof Predictor.paramsFromCheckpoint>>;
  try {
    loaded = await Predictor.paramsFromCheckpoint(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`mosaic: cannot read checkpoint ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const { params, metadata } = loaded;
  const raw = metadata[CONFIG_KEY];
  if (!raw) throw new Error(`mosaic: ${file} is not a MOSAIC checkpoint (its metadata has no ${CONFIG_KEY})`);
  let saved: Partial<MosaicConfig>;
  try {
    saved = JSON.parse(raw) as Partial<MosaicConfig>;
  } catch {
    throw new Error(`mosaic: ${file} has an unreadable ${CONFIG_KEY} (not JSON)`);
  }
  const diff = configDifferences(saved, c);
  if (diff.length) {
    throw new Error(`mosaic: checkpoint ${file} was trained with preset '${saved.preset ?? '?'}', the model node asks for '${c.preset}':\n  ${diff.join('\n  ')}\n(set the Model node's preset to match, or pick another checkpoint)`);
  }
  const want = expectedParams(c);
  const problems: string[] = [];
  for (const [name, shape] of want) {
    const t = params[name] as Tensor | undefined;
    if (!t) problems.push(`missing '${name}'`);
    else if (t.shape.join(',') !== shape.join(',')) problems.push(`'${name}' is [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  for (const name of Object.keys(params)) if (!want.has(name)) problems.push(`unexpected '${name}'`);
  if (problems.length) throw new Error(`mosaic: checkpoint ${file} does not match the ${c.preset} network:\n  ${problems.slice(0, 20).join('\n  ')}`);
  return { params, source: file, step: Number(metadata.step ?? 0) };
}
