/**
 * focusdpo: FocusDPO-like post-training of MOSAIC — preference pairs, the focus map W_t and a
 * spatially weighted Flow-DPO loss (uniform W: Diffusion-DPO; sft: the supervised baseline),
 * trained by train/Train. Method and every choice: docs/focusdpo.md.
 *
 * @packageDocumentation
 */
import { definePlugin } from 'tessera';
import { DPOLoss } from './nodes/DPOLoss.ts';
import { FocusMap } from './nodes/FocusMap.ts';
import { PreferencePairs } from './nodes/PreferencePairs.ts';

export { complexityMap, entropyImage, maskToPatches, luminance, COMPLEXITY_EPS } from './complexityMap.ts';
export type { ComplexityOptions } from './complexityMap.ts';
export { correspondenceFocus, focusWeights, focusDpoLoss, weightedFlowLoss } from './focusGraph.ts';
export type { FocusTerms, PairErrors } from './focusGraph.ts';
export { DEFAULT_FOCUS, UNIFORM_FOCUS, parseFocusSpec } from './focusSpec.ts';
export type { FocusSpec } from './focusSpec.ts';
export { dpoStepProgram, tracedFocus } from './dpoProgram.ts';
export type { DpoSettings } from './dpoProgram.ts';
export { DpoTrainingProgram } from './DpoTrainingProgram.ts';
export type { DpoRun } from './DpoTrainingProgram.ts';
export { DpoModel } from './DpoModel.ts';
export { focusMapsAt, focusSheet } from './focusHeatmaps.ts';
export { isPair, requirePairs } from './pairs.ts';
export type { PreferencePair, OnPolicyInfo } from './pairs.ts';
export { rankCandidates, subjectMask, onPolicyPair } from './onPolicy.ts';
export type { Ranking } from './onPolicy.ts';
export { writePairsDataset, PAIRS_MANIFEST } from './pairsDataset.ts';
export type { PairRecord } from './pairsDataset.ts';
export { PreferencePairs, FocusMap, DPOLoss };

export default definePlugin({ name: 'focusdpo', version: '0.1.0', nodes: [PreferencePairs, FocusMap, DPOLoss] });
