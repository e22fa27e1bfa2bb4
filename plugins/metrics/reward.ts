import type { ImageValue, ServiceIdentifier } from 'tessera';
import type { SemAlignSample } from 'tessera/semalign';
import { evaluateSample } from './evaluate.ts';

/** One subject's share of a {@link RewardService} score. */
export interface SubjectReward {
  readonly slot: number;
  /** Descriptor cosine of the generated region against the ground truth (0 when it is empty). */
  readonly identity: number;
  /** colorLeak + textureLeak: what the region took from the other subjects (0 when K = 1). */
  readonly leakage: number;
  /** identity − leakage. */
  readonly reward: number;
}

/** A generated image's reward against its SemAlign-Synth ground truth. */
export interface RewardScore {
  /** Mean of the subjects' rewards (each subject counts once, whatever its size). */
  readonly reward: number;
  readonly subjects: readonly SubjectReward[];
}

/**
 * The reward a preference-tuning plugin (FocusDPO) ranks generations by: per subject, identity
 * (descriptor cosine against the ground truth) minus leakage (color + texture taken from the other
 * subjects), averaged over subjects. Higher is better; the ground truth itself scores 1 − 0.
 * Provided by the metrics plugin; resolve it with `ctx.get(REWARD)`.
 */
export interface RewardService {
  score(sample: SemAlignSample, generated: ImageValue): RewardScore;
}

/** Token of the {@link RewardService}, bound by the built-in metrics plugin. */
export const REWARD: ServiceIdentifier<RewardService> = Symbol.for('tessera.metrics.Reward');

/** The metrics plugin's reward: the same identity and leakage numbers SemAlignMetrics reports. */
export const identityMinusLeakage: RewardService = {
  score(sample, generated) {
    const metrics = evaluateSample(sample, generated);
    const subjects = metrics.subjects.map((s) => {
      const identity = s.descriptorCos ?? 0;
      const leakage = (s.colorLeak ?? 0) + (s.textureLeak ?? 0);
      return { slot: s.slot, identity, leakage, reward: identity - leakage };
    });
    const reward = subjects.length ? subjects.reduce((sum, s) => sum + s.reward, 0) / subjects.length : 0;
    return { reward, subjects };
  },
};
