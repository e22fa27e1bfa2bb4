import type { MosaicModel } from 'tessera/mosaic';
import type { Trainable, TrainingProgram } from 'tessera/train';
import { DpoTrainingProgram, type DpoRun } from './DpoTrainingProgram.ts';
import { requirePairs } from './pairs.ts';

/**
 * The MODEL handle focusdpo/DPOLoss passes on: a trained MOSAIC model plus the preference
 * objective wired into it. train/Train trains it like any Trainable; the handle it returns is a
 * plain MOSAIC model carrying the post-trained policy weights.
 */
export class DpoModel implements Trainable {
  readonly kind = 'focusdpo';

  constructor(
    readonly base: MosaicModel,
    readonly run: DpoRun,
  ) {}

  trainingProgram(data: unknown): TrainingProgram {
    return new DpoTrainingProgram(this.base, requirePairs(data, 'focusdpo/DPOLoss'), this.run);
  }

  describe(): string {
    const r = this.run;
    const f = r.focus;
    const terms = [f.prior && 'prior', f.correspondence && `corr top-${f.topK}${f.rho ? ` ρ=${f.rho}` : ''}`, f.complexity && `complexity λ=${f.lambda} t<${f.tau}`].filter(Boolean).join(' + ') || 'uniform';
    const what = r.objective === 'dpo' ? `${terms === 'uniform' ? 'Diffusion-DPO' : 'FocusDPO-like'} β=${r.beta}` : 'SFT on winners';
    return `${what} · W: ${terms} · trains ${r.subset === 'all' ? 'all parameters' : 'the LoRA adapters'} · on ${this.base.describe()}`;
  }
}
