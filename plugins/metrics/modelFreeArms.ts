import type { SemAlignSample } from 'tessera/semalign';
import { BASELINE_LABELS, BASELINES, type BaselineName, baselineAttention, baselineImage, boxAttention, CHANCE_ATTENTION } from './baselines.ts';
import type { Arm, SampleScores } from './compare.ts';
import { scoresOf } from './compare.ts';
import { evaluateSample, pckAtRadii, type SampleMetrics } from './evaluate.ts';

/** Every baseline scored by {@link evaluateSample} on every sample (same order as `samples`). */
export function evaluateBaselines(samples: readonly SemAlignSample[], radii: readonly number[], names: readonly BaselineName[] = BASELINES): Map<BaselineName, SampleMetrics[]> {
  return new Map(
    names.map((name) => [name, samples.map((s) => evaluateSample(s, baselineImage(s, name), { attention: baselineAttention(s, name) ?? undefined, pckRadii: radii }))]),
  );
}

const byId = (rows: readonly SampleMetrics[], f: (m: SampleMetrics) => SampleScores = scoresOf) => new Map(rows.map((m) => [m.id, f(m)]));

/** Arms of the baselines (one "seed": they are deterministic). */
export function baselineArms(baselines: ReadonlyMap<BaselineName, readonly SampleMetrics[]>): Arm[] {
  return [...baselines].map(([name, rows]) => ({ name, label: BASELINE_LABELS[name], seeds: [byId(rows)] }));
}

/**
 * Chance levels as arms: retrieval chance E[1/|C|] (from any evaluation of the samples: the
 * candidate sets depend on the ground truth only) and PCK of box-only attention.
 */
export function chanceArms(samples: readonly SemAlignSample[], evaluated: readonly SampleMetrics[], radii: readonly number[]): Arm[] {
  const retrieval: Arm = { name: 'chance-retrieval', label: 'retrieval chance E[1/|C|]', seeds: [byId(evaluated, (m) => ({ retrievalAcc: scoresOf(m).retrievalChance ?? null }))] };
  const pck = CHANCE_ATTENTION.map((mode) => ({
    name: `chance-${mode}`,
    label: mode === 'box-uniform' ? 'PCK chance: uniform in box' : 'PCK chance: box-centre one-hot',
    seeds: [new Map(samples.map((s) => [s.annotation.id, pckAtRadii(s, boxAttention(s, mode), radii) as SampleScores]))],
  }));
  return [retrieval, ...pck];
}
