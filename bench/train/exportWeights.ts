/**
 * Writes a weights-only file from a train/Train checkpoint: its EMA weights (`--ema`, the
 * `.ema.safetensors` file beside it) or its raw ones, with the checkpoint's model metadata (config,
 * loss terms, data hash), so model nodes load it like a finished run's weightsFile. Use it to
 * evaluate or bundle a checkpoint of a run that is still training or was stopped early.
 *
 *   node --import ./core/loader/register.mjs bench/train/exportWeights.ts --checkpoint runs/x/checkpoints/step-00004000.safetensors --ema --out plugins/mosaic/weights/x.safetensors
 */
import { loadSafetensors, Predictor, saveParamsFile } from 'tessera/kernels';
import { opt } from '../mosaic/benchArgs.ts';

const ckpt = opt('checkpoint');
const out = opt('out');
if (!ckpt || !out) throw new Error('usage: exportWeights.ts --checkpoint <step-N.safetensors> [--ema] --out <file>');
const ema = process.argv.includes('--ema');
const { tensors, metadata } = await loadSafetensors(ckpt);
if (metadata.format !== 'tessera-kernels-checkpoint/1') throw new Error(`${ckpt} is not a train/Train checkpoint (format '${metadata.format ?? 'none'}')`);
void tensors;
const params = ema ? (await loadSafetensors(ckpt.replace(/\.safetensors$/, '.ema.safetensors'))).tensors : (await Predictor.paramsFromCheckpoint(ckpt)).params;
// Model metadata is namespaced (mosaic.*, latent.*, train.*); the kernel's own keys are not carried over.
const keep = Object.fromEntries(Object.entries(metadata).filter(([k]) => k.includes('.')));
await saveParamsFile(out, params, { ...keep, 'export.source': `${ckpt}${ema ? ' (EMA)' : ''}`, step: metadata.step ?? '' });
console.log(`${out}: ${Object.keys(params).length} tensors from ${ckpt}${ema ? ' (EMA)' : ''}, step ${metadata.step}`);
