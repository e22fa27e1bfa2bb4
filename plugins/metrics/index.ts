/**
 * metrics: ground-truth metrics for SemAlign-Synth (identity fidelity, retrieval, leakage,
 * PCK, background/whole-image error). Formulas: docs/metrics.md.
 *
 * @packageDocumentation
 */
import { definePlugin } from 'tessera';
import { Counterfactual, OracleAttention, SemAlignMetrics } from './nodes.ts';

export { evaluateSample, pckAtRadii, attentionFromCorrespondence } from './evaluate.ts';
export type { SampleMetrics, SubjectMetrics } from './evaluate.ts';
export { aggregateByK } from './report.ts';
export { describeRegion, descriptorCosine } from './descriptor.ts';
export { SemAlignMetrics, OracleAttention, Counterfactual };

export default definePlugin({ name: 'metrics', version: '0.1.0', nodes: [SemAlignMetrics, OracleAttention, Counterfactual] });
