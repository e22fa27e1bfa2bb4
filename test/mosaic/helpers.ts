import * as assert from 'uvu/assert';
import { Rng } from 'tessera';
import { Tensor, Trainer } from 'tessera/kernels';
import type { MosaicConfig } from '../../plugins/mosaic/model/MosaicConfig.ts';
import { MosaicModel } from '../../plugins/mosaic/model/MosaicModel.ts';
import type { SemAlignSample } from '../../plugins/semalign/sample.ts';
import type { AutoencoderModel } from '../../plugins/latent/AutoencoderModel.ts';

/** Fails unless `p` rejects with a message matching `re`. */
export async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected a rejection matching ${re}`);
}

/**
 * Weights for `config`: a Trainer's initialisation plus N(0, std²) noise, so the zero-initialised
 * output and modulation layers carry signal (with them at zero the velocity is identically zero
 * and many properties hold trivially). A latent config needs its `autoencoder` (the program checks it).
 */
export async function perturbedWeights(config: MosaicConfig, samples: readonly SemAlignSample[], std: number, seed: number, autoencoder?: AutoencoderModel): Promise<Record<string, Tensor>> {
  const model = autoencoder ? new MosaicModel(config).withAutoencoder(autoencoder) : new MosaicModel(config);
  const prog = model.trainingProgram(samples, { steps: 1 });
  const trainer = await Trainer.create(prog.modelFn(prog.variants[0]!, 1), { seed: 1 });
  const rng = new Rng(seed);
  const params: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(trainer.getParams())) params[name] = new Tensor('float32', t.shape, Float32Array.from(t.data as Float32Array, (v) => v + std * rng.normal()));
  await trainer.dispose();
  return params;
}
