/**
 * train: the generic training node. Any MODEL handle that implements {@link Trainable} can be
 * trained; the handle decides the step graphs and batches, Train runs the optimisation. This
 * file is the plugin's public module, `'tessera/train'`.
 *
 * @packageDocumentation
 */
import { definePlugin } from 'tessera';
import { Train } from './nodes/Train.ts';

export type { Trainable, TrainingProgram, TrainBatch } from './Trainable.ts';
export { isTrainable } from './Trainable.ts';
export { runTraining } from './runTraining.ts';
export type { TrainSettings, TrainResult } from './runTraining.ts';
export { lossCurveImage, lossCurveSvg } from './lossCurve.ts';
export { loadCheckedWeights } from './loadCheckedWeights.ts';
export type { CheckedWeightsSpec } from './loadCheckedWeights.ts';
export type { HistoryRow } from './lossCurve.ts';
export { Train };

export default definePlugin({ name: 'train', version: '0.1.0', nodes: [Train] });
