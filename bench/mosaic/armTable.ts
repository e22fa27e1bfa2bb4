/**
 * The arms a MOSAIC results table compares, shared by ablation.ts and evaluate.ts: each trained
 * arm (its seeds), then the model-free baselines and the measured retrieval chance, all scored
 * by the same metric code on the same evaluation samples.
 */
import { type Arm, BASELINE_LABELS, scoresOf, type SampleMetrics } from '../../plugins/metrics/index.ts';

/** What metrics/SemAlignMetrics writes to metrics.json (the parts the tables read). */
export interface MetricsJson {
  perK: { k: number; samples: number; chance: number | null; means: Record<string, number | null> }[];
  perSample: SampleMetrics[];
  baselines?: Record<string, SampleMetrics[]>;
}

/** Trained arms (one metrics.json per seed) plus baselines and chance from the first evaluation. */
export function comparedArms(trained: readonly { name: string; label: string; runs: readonly MetricsJson[] }[]): { arms: Arm[]; kOf: Map<string, number>; samples: number } {
  const first = trained[0]?.runs[0];
  if (!first) throw new RangeError('no evaluated arm');
  const arms: Arm[] = trained.map((t) => ({ name: t.name, label: t.label, seeds: t.runs.map((m) => new Map(m.perSample.map((r) => [r.id, scoresOf(r)]))) }));
  for (const [name, rows] of Object.entries(first.baselines ?? {})) arms.push({ name, label: BASELINE_LABELS[name as keyof typeof BASELINE_LABELS] ?? name, seeds: [new Map(rows.map((r) => [r.id, scoresOf(r)]))] });
  arms.push({ name: 'chance', label: 'retrieval chance E[1/|C|]', seeds: [new Map(first.perSample.map((r) => [r.id, { retrievalAcc: scoresOf(r).retrievalChance ?? null }]))] });
  return { arms, kOf: new Map(first.perSample.map((r) => [r.id, r.k])), samples: first.perSample.length };
}
