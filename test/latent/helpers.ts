import { Trainer, type Tensor } from 'tessera/kernels';
import { AutoencoderModel } from '../../plugins/latent/AutoencoderModel.ts';
import { resolveConfig } from '../../plugins/latent/config.ts';
import type { SemAlignSample } from '../../plugins/semalign/sample.ts';
import { fixtures } from '../semalign/helpers.ts';

export const tiny = resolveConfig('tiny');

/** K = 1..3 samples of held-out (test split) or training identities. */
export const samples = (n: number, split: 'train' | 'test' = 'train'): SemAlignSample[] => fixtures(n, [1, 2, 3], {}, split);

/** The tiny autoencoder's initial weights (a Trainer's seeded initialisation). */
export async function initialWeights(seed = 1): Promise<Record<string, Tensor>> {
  const prog = new AutoencoderModel(tiny).trainingProgram(samples(1), { steps: 1 });
  const trainer = await Trainer.create(prog.modelFn(prog.variants[0]!, 1), { seed });
  const params = trainer.getParams();
  await trainer.dispose();
  return params;
}
