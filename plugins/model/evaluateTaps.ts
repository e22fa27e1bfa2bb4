import { Rng } from 'tessera';
import { Predictor, Tensor, type Graph, type Sym } from 'tessera/kernels';
import { imagesToTensor } from 'tessera/latent';
import type { AttentionTap, TapLayout } from './attentionTaps.ts';
import { stackOnChannels, type FlowModelState } from './FlowMatchingProgram.ts';
import { boxDownsample, referenceSamples } from './images.ts';
import { programParams } from './programParams.ts';
import { tapsOf } from './tapsOf.ts';

/**
 * `fn` on the taps of one forward over one sample, laid out as a training step lays out a batch
 * of 1 (FlowMatchingProgram): rows [target noised to t; its K references clean at t = 0], each
 * with the sample's condition. The noise is drawn from `seed` forked by the sample id, so the
 * same sample gives the same map. Params come from `model.weights`, else from the export itself.
 */
export async function evaluateTaps(
  model: FlowModelState,
  sample: unknown,
  t: number,
  seed: number,
  fn: (g: Graph, taps: readonly AttentionTap[], layout: TapLayout) => Record<string, Sym>,
): Promise<Record<string, Tensor>> {
  if (!model.attention.length) throw new RangeError('model: the attention q/k tensors are not named (model/ImportOnnx attention); there are no taps to evaluate');
  if (!(t >= 0 && t <= 1)) throw new RangeError(`model: the preview time must be in [0, 1], got ${t}`);
  const s = referenceSamples([sample], 'a correspondence preview')[0]!;
  const id = s.annotation.id;
  const k = s.refs.length;
  if (model.conditionRefs && k !== model.conditionRefs) throw new RangeError(`model: sample ${id} has ${k} references; the condition input takes ${model.conditionRefs}`);
  const [, h, w] = model.imageShape as [number, number, number];
  const rows = 1 + k;
  const x = imagesToTensor([boxDownsample(s.target, w, h, `model: sample ${id} target`), ...s.refs.map((r, j) => boxDownsample(r, w, h, `model: sample ${id} reference ${j}`))]);
  const xd = x.data as Float32Array;
  const rng = new Rng(seed).fork(id);
  for (let i = 0; i < 3 * h * w; i++) xd[i] = (1 - t) * xd[i]! + t * rng.normal();
  const times = new Float32Array(rows);
  times[0] = t;
  const feeds: Record<string, Tensor> = { x, t: new Tensor('float32', [rows], times) };
  if (model.conditionRefs) {
    const [, ch, cw] = model.conditionShape as [number, number, number];
    const one = stackOnChannels(imagesToTensor(s.refs.map((r, j) => boxDownsample(r, cw, ch, `model: sample ${id} reference ${j} (condition)`))), 1);
    // Every row (target and references) gets the sample's condition, as in training.
    const c = new Float32Array(rows * one.size);
    for (let r = 0; r < rows; r++) c.set(one.data as Float32Array, r * one.size);
    feeds.condition = new Tensor('float32', [rows, ...one.shape.slice(1)], c);
  }
  const program = (g: Graph): Record<string, Sym> => {
    const cond = feeds.condition ? g.input('condition', feeds.condition.shape) : undefined;
    const { tensors } = model.trace(g, g.input('x', x.shape), g.input('t', [rows]), cond);
    const { taps, layout } = tapsOf(model.attention, tensors, model.mapping.heads, 1, k);
    return fn(g, taps, layout);
  };
  const params = programParams(program, model.weights?.params);
  const p = await Predictor.create(program, params);
  try {
    return await p.run(feeds);
  } finally {
    await p.dispose();
  }
}
