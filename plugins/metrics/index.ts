/**
 * metrics: ground-truth metrics for SemAlign-Synth (identity fidelity, retrieval, leakage,
 * PCK, background/whole-image error). Formulas: docs/metrics.md.
 *
 * @packageDocumentation
 */
import { definePlugin } from 'tessera';
import { Counterfactual, OracleAttention, SemAlignMetrics } from './nodes.ts';
import { REWARD, identityMinusLeakage } from './reward.ts';

export { evaluateSample, pckAtRadii, attentionFromCorrespondence } from './evaluate.ts';
export type { SampleMetrics, SubjectMetrics } from './evaluate.ts';
export { aggregateByK } from './report.ts';
export { describeRegion, descriptorCosine } from './descriptor.ts';
export { BASELINES, BASELINE_LABELS, baselineImage, baselineAttention, uprightPaste, oraclePaste, meanColourFill, affineAttention, boxAttention } from './baselines.ts';
export type { BaselineName, ChanceAttention } from './baselines.ts';
export { bootstrapInterval, excludesZero, seedSpread } from './bootstrap.ts';
export type { ArmValues, ClusterValue, Interval, BootstrapOptions } from './bootstrap.ts';
export { compareArms, comparisonMarkdown, metricMarkdown, scoresOf, COMPARED } from './compare.ts';
export type { Arm, ComparisonK, ComparisonRow, Cell } from './compare.ts';
export { evaluateBaselines, baselineArms, chanceArms } from './modelFreeArms.ts';
export { SemAlignMetrics, OracleAttention, Counterfactual };
export { REWARD, identityMinusLeakage } from './reward.ts';
export type { RewardService, RewardScore, SubjectReward } from './reward.ts';

export default definePlugin({
  name: 'metrics',
  version: '0.1.0',
  nodes: [SemAlignMetrics, OracleAttention, Counterfactual],
  // Other plugins (FocusDPO) resolve the reward by token instead of importing an implementation.
  services: ({ bind }) => bind(REWARD).toConstantValue(identityMinusLeakage),
});
