import type { OnnxModel, OnnxNode } from '../onnx/OnnxModel.ts';
import { grad } from '../autodiff/grad.ts';
import { Graph, type FloatDType, type ParamInfo } from '../trace/Graph.ts';
import * as o from '../trace/ops.ts';
import type { Sym } from '../trace/Sym.ts';
import { TraceError } from '../trace/TraceError.ts';
import { emitUpdate, optimizerState, type OptimizerSpec } from './optimizers.ts';

/** What a model function returns: a scalar loss and optional named tensors to fetch. */
export interface ModelOutput {
  loss: Sym;
  outputs?: Record<string, Sym>;
}

/** A model: traces its inputs, params and loss into the given graph. */
export type ModelFn = (g: Graph) => ModelOutput;

export interface ParamSlot {
  name: string;
  shape: readonly number[];
  offset: number;
  size: number;
  decay: boolean;
}

/** Where each parameter lives in the flat trainable / frozen buffers. */
export interface ParamLayout {
  trainable: ParamSlot[];
  frozen: ParamSlot[];
  trainableSize: number;
  frozenSize: number;
}

export type TrainableSelector = readonly string[] | RegExp | ((name: string) => boolean);

/** Reserved graph names for the carried state. */
export const STEP_NAMES = {
  params: 'train.params',
  frozen: 'train.frozen',
  step: 'train.step',
  lr: 'train.lr',
  state: (s: string) => `train.${s}`,
  next: (s: string) => `next.${s}`,
};

export function makeLayout(params: ParamInfo[], select?: TrainableSelector): ParamLayout {
  const isTrainable = (p: ParamInfo) => {
    if (!select) return p.trainable;
    if (Array.isArray(select)) return select.includes(p.name);
    if (select instanceof RegExp) return select.test(p.name);
    return (select as (n: string) => boolean)(p.name);
  };
  const layout: ParamLayout = { trainable: [], frozen: [], trainableSize: 0, frozenSize: 0 };
  // Decayed params first: the weight-decay mask is then a prefix, computed in-graph from a Range
  // instead of shipping a parameter-sized constant.
  const ordered = [...params.filter((p) => p.decay), ...params.filter((p) => !p.decay)];
  for (const p of ordered) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    if (isTrainable(p)) {
      layout.trainable.push({ name: p.name, shape: p.shape, offset: layout.trainableSize, size, decay: p.decay });
      layout.trainableSize += size;
    } else {
      layout.frozen.push({ name: p.name, shape: p.shape, offset: layout.frozenSize, size, decay: p.decay });
      layout.frozenSize += size;
    }
  }
  return layout;
}

/** Nodes that carve each parameter out of its flat buffer (one Split, then free Reshapes). */
function unpackNodes(g: Graph, buffer: string, slots: ParamSlot[]): OnnxNode[] {
  if (slots.length === 0) return [];
  const nodes: OnnxNode[] = [];
  const flatNames = slots.length === 1 ? [buffer] : slots.map((s) => `${s.name}.flat`);
  if (slots.length > 1) {
    nodes.push({ opType: 'Split', inputs: [buffer, g.ints(slots.map((s) => s.size)).name], outputs: flatNames, name: `unpack_${buffer}`, attributes: [{ name: 'axis', type: 'int', value: 0 }] });
  }
  slots.forEach((s, i) => {
    nodes.push({ opType: 'Reshape', inputs: [flatNames[i]!, g.ints(s.shape).name], outputs: [s.name], name: `unpack_${s.name}`, attributes: [] });
  });
  return nodes;
}

function traceModel(fn: ModelFn, dtype: FloatDType): { g: Graph; out: ModelOutput } {
  const g = new Graph({ dtype });
  const out = fn(g);
  if (!out || !out.loss) throw new TraceError('model', 'the model function must return { loss, outputs? }');
  if (out.loss.size !== 1) throw new TraceError('model', `loss must be a scalar, got ${out.loss}`);
  for (const name of g.inputs.keys()) {
    if (name.startsWith('train.') || name.startsWith('next.')) throw new TraceError('model', `input name '${name}' uses a reserved prefix (train., next.)`);
  }
  for (const name of g.params.keys()) {
    if (name.startsWith('train.') || name.startsWith('next.')) throw new TraceError('model', `param name '${name}' uses a reserved prefix (train., next.)`);
  }
  return { g, out };
}

export interface StepGraphOptions {
  dtype: FloatDType;
  optimizer: OptimizerSpec;
  clipGradNorm?: number;
  trainable?: TrainableSelector;
}

export interface BuiltStep {
  model: OnnxModel;
  graph: Graph;
  layout: ParamLayout;
  params: ParamInfo[];
  stateNames: string[];
  userOutputs: string[];
  usesSeed: boolean;
}

/**
 * Traces `fn` and builds ONE graph for a whole training step: unpack flat params, forward,
 * loss, reverse-mode gradients, global-norm clipping, optimizer update over the flat buffer,
 * and a finite check that makes a NaN/Inf step return the old params and state unchanged.
 */
export function buildStepGraph(fn: ModelFn, o2: StepGraphOptions): BuiltStep {
  const { g, out } = traceModel(fn, o2.dtype);
  const params = [...g.params.values()];
  const layout = makeLayout(params, o2.trainable);
  if (layout.trainable.length === 0) throw new TraceError('trainer', 'no trainable parameters (check the trainable selection)');
  const dt = o2.dtype;
  const pflat = g.input(STEP_NAMES.params, [layout.trainableSize], dt);
  if (layout.frozenSize > 0) g.input(STEP_NAMES.frozen, [layout.frozenSize], dt);
  const stateNames = optimizerState(o2.optimizer);
  const state: Record<string, Sym> = {};
  for (const s of stateNames) state[s] = g.input(STEP_NAMES.state(s), [layout.trainableSize], dt);
  const step = g.input(STEP_NAMES.step, [], dt);
  const lr = g.input(STEP_NAMES.lr, [], dt);

  const trainSyms = layout.trainable.map((s) => g.params.get(s.name)!.sym);
  const grads = grad(out.loss, trainSyms);
  let gflat = grads.length === 1 ? o.reshape(grads[0]!, [-1]) : o.concat(grads.map((d) => o.reshape(d, [-1])), 0);
  const gradNorm = o.sqrt(o.sum(o.mul(gflat, gflat)));
  if (o2.clipGradNorm !== undefined) {
    const scale = o.minimum(o.div(o2.clipGradNorm, o.add(gradNorm, 1e-6)), 1);
    gflat = o.mul(gflat, scale);
  }
  const lossScalar = o.reshape(out.loss, []);
  // x − x is 0 for every finite x and NaN for ±Inf/NaN: one scalar test covers loss and all grads.
  const probe = o.add(lossScalar, gradNorm);
  const finite = o.equal(o.sub(probe, probe), 0);

  let decayMask: Sym | null = null;
  if (layout.trainable.some((s) => !s.decay)) {
    const decayed = layout.trainable.filter((s) => s.decay).reduce((n, s) => n + s.size, 0);
    const idx = g.node('Range', [g.constant(0, dt), g.constant(layout.trainableSize, dt), g.constant(1, dt)], {}, [{ shape: [layout.trainableSize], dtype: dt }])[0]!;
    decayMask = o.cast(o.less(idx, decayed), dt);
  }
  const t = o.add(step, 1);
  const upd = emitUpdate(o2.optimizer, { p: pflat, g: gflat, state, lr, t, decayMask });

  const outputs: Record<string, Sym> = {
    loss: lossScalar,
    finite,
    gradNorm,
    [STEP_NAMES.next('params')]: o.where(finite, upd.p, pflat),
    [STEP_NAMES.next('step')]: o.where(finite, t, step),
  };
  for (const s of stateNames) outputs[STEP_NAMES.next(s)] = o.where(finite, upd.state[s]!, state[s]!);
  const userOutputs = Object.keys(out.outputs ?? {});
  for (const [k, v] of Object.entries(out.outputs ?? {})) {
    if (k in outputs) throw new TraceError('model', `output name '${k}' is reserved`);
    outputs[k] = v;
  }
  const prefix = [...unpackNodes(g, STEP_NAMES.params, layout.trainable), ...unpackNodes(g, STEP_NAMES.frozen, layout.frozen)];
  const model = g.toModel(outputs, { omitInputs: params.map((p) => p.name), prefixNodes: prefix });
  return { model, graph: g, layout, params, stateNames, userOutputs, usesSeed: g.inputs.has('seed') };
}

/** The forward-only graph (loss + outputs) reading the same flat parameter buffers. */
export function buildForwardGraph(fn: ModelFn, dtype: FloatDType, layout: ParamLayout): { model: OnnxModel; graph: Graph } {
  const { g, out } = traceModel(fn, dtype);
  g.input(STEP_NAMES.params, [layout.trainableSize], dtype);
  if (layout.frozenSize > 0) g.input(STEP_NAMES.frozen, [layout.frozenSize], dtype);
  const outputs: Record<string, Sym> = { loss: o.reshape(out.loss, []), ...(out.outputs ?? {}) };
  const prefix = [...unpackNodes(g, STEP_NAMES.params, layout.trainable), ...unpackNodes(g, STEP_NAMES.frozen, layout.frozen)];
  const model = g.toModel(outputs, { omitInputs: [...g.params.keys()], prefixNodes: prefix });
  return { model, graph: g };
}
