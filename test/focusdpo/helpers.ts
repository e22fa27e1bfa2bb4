import { Rng } from 'tessera';
import { Tensor, Trainer } from 'tessera/kernels';
import { MosaicModel, type MosaicConfig } from 'tessera/mosaic';
import type { SemAlignSample } from 'tessera/semalign';
import { fixtures } from '../semalign/helpers.ts';

export { fixtures };

/**
 * A MOSAIC handle with weights: a Trainer's initialisation plus N(0, std²) noise, so the
 * zero-initialised output layers carry signal (a zero velocity would make every error equal).
 */
export async function weightedModel(config: MosaicConfig, samples: readonly SemAlignSample[], std = 0.05, seed = 7): Promise<MosaicModel> {
  const base = new MosaicModel(config);
  const prog = base.trainingProgram(samples, { steps: 1 });
  const trainer = await Trainer.create(prog.modelFn(prog.variants[0]!, 1), { seed: 1 });
  const rng = new Rng(seed);
  const params: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(trainer.getParams())) params[name] = new Tensor('float32', t.shape, Float32Array.from(t.data as Float32Array, (v) => v + std * rng.normal()));
  await trainer.dispose();
  return base.withWeights({ params, source: 'test: perturbed init', step: 0 });
}
