import { createHash } from 'node:crypto';
import { Rng, type ImageValue } from 'tessera';
import { Graph, Tensor, flowMatchingNoise, ops as o, type ModelFn } from 'tessera/kernels';
import type { SemAlignSample } from 'tessera/semalign';
import type { TrainBatch, TrainingProgram } from 'tessera/train';
import { boxDownsample, referenceSamples, trainingImages, type ReferenceSample } from './images.ts';
import { imagesToTensor } from 'tessera/latent';
import type { Sym, Tensor as TensorT } from 'tessera/kernels';
import type { TapLayout, TapLoss } from './attentionTaps.ts';
import { tapsOf } from './tapsOf.ts';
import { annotationDifferences, annotationsDigest } from './annotationsDigest.ts';

/**
 * What the training programs read of an imported-model handle. ImportedModel implements it; the
 * programs depend on this shape rather than the class, so the files do not import each other.
 */
export interface ImportedModelState {
  readonly imageShape: readonly number[];
  readonly conditionShape: readonly number[] | null;
  /** References per sample the condition input takes (0: it is fed zeros or there is none). */
  readonly conditionRefs: number;
  readonly digest: string;
  readonly lora: unknown;
  readonly weights: { readonly params: Readonly<Record<string, TensorT>> } | null;
  withWeights(weights: { params: Record<string, TensorT>; source: string; step: number }): unknown;
}

/** What flow matching (with tap losses) reads besides. */
export interface FlowModelState extends ImportedModelState {
  readonly attention: readonly { readonly q: string; readonly k: string }[];
  readonly mapping: { readonly heads: number };
  readonly tapLosses: readonly TapLoss[];
  trace(g: Graph, xt: Sym, t: Sym, condition?: Sym): { output: Sym; tensors: Readonly<Record<string, Sym>> };
}

export const ONNX_KEY = 'model.onnx';
export const LORA_KEY = 'model.lora';
export const DATA_KEY = 'model.data';
/** The tap losses' names and settings, and where the condition comes from. */
export const TERMS_KEY = 'model.terms';
/** With tap losses: the annotations they read (ids, K, correspondences), see annotationsDigest. */
export const ANNOTATIONS_KEY = 'model.annotations';

const VARIANT = 'default';

/**
 * Flow matching on a list of images: x_t = (1 − t)·x0 + t·ε, the export predicts ε − x0 from
 * (x_t, t), loss = mean squared error. Images are box-averaged to the model's input size once.
 * The batch of step s (images, ε and t ~ U(0, 1)) is a pure function of (seed, s).
 *
 * With references (SemAlign samples; needed by a condition fed from references or by a tap loss):
 * one variant `k<K>` per reference count, each batch from one K group. A tap loss runs the export
 * on [B noised targets; B·K clean references at t = 0] in one forward; the flow loss reads the
 * targets' rows, the tap loss the references' queries against the targets' keys. Every row of a
 * sample gets that sample's condition.
 */
export class FlowMatchingProgram implements TrainingProgram {
  readonly variants: string[];
  readonly metrics: string[];
  readonly metadata: Record<string, string>;
  readonly initial?: Record<string, Tensor>;
  private readonly images: ImageValue[];
  /** With references: the samples, each one's references at the image size and at the condition size. */
  private readonly samples: ReferenceSample[] | null = null;
  private readonly refImages: ImageValue[][] = [];
  private readonly condImages: ImageValue[][] = [];
  private readonly groups = new Map<number, number[]>();
  private readonly fns = new Map<string, ModelFn>();
  private tokens: { refTokens: number; targetTokens: number } | null = null;

  constructor(
    private readonly model: FlowModelState,
    data: unknown,
    private readonly options: { steps: number },
  ) {
    const [, h, w] = model.imageShape as [number, number, number];
    const losses = model.tapLosses;
    const why = losses.length ? losses.map((l) => l.describe()).join(' and ') : model.conditionRefs ? 'a condition fed from references' : '';
    if (why) {
      this.samples = referenceSamples(data, why);
      this.images = this.samples.map((s, i) => boxDownsample(s.target, w, h, `model: training target ${i}`));
      this.samples.forEach((s, i) => {
        const k = s.refs.length;
        if (model.conditionRefs && k !== model.conditionRefs) throw new RangeError(`model: sample ${s.annotation.id} has ${k} references; the condition input takes ${model.conditionRefs} (3·K = ${model.conditionShape![0]} channels)`);
        if (losses.length) this.refImages.push(s.refs.map((r, j) => boxDownsample(r, w, h, `model: sample ${s.annotation.id} reference ${j}`)));
        if (model.conditionRefs) {
          const [, ch, cw] = model.conditionShape as [number, number, number];
          this.condImages.push(s.refs.map((r, j) => boxDownsample(r, cw, ch, `model: sample ${s.annotation.id} reference ${j} (condition)`)));
        }
        const group = this.groups.get(k) ?? [];
        group.push(i);
        this.groups.set(k, group);
      });
      this.variants = [...this.groups.keys()].sort((a, b) => a - b).map((k) => `k${k}`);
      // Every sample's annotations against the token grids, before the first step.
      if (losses.length) {
        const tokens = this.tokenCounts();
        this.samples.forEach((s) => {
          for (const loss of losses) loss.feeds([s as unknown as SemAlignSample], { batch: 1, k: s.refs.length, ...tokens }, { step: 0, steps: options.steps });
        });
      }
    } else {
      this.images = trainingImages(data).map((im, i) => boxDownsample(im, w, h, `model: training image ${i}`));
      this.variants = [VARIANT];
    }
    // A loss needing more references than every sample has (MDL with K = 1 only) never logs.
    this.metrics = losses.length ? ['flow', ...losses.filter((l) => [...this.groups.keys()].some((k) => k >= (l.minRefs ?? 1))).map((l) => l.name)] : [];
    const hash = createHash('sha256');
    for (const im of [...this.images, ...this.refImages.flat(), ...this.condImages.flat()]) hash.update(im.data);
    this.metadata = {
      [ONNX_KEY]: model.digest,
      [LORA_KEY]: JSON.stringify(model.lora),
      [DATA_KEY]: `${this.images.length}:${hash.digest('hex').slice(0, 16)}`,
      [TERMS_KEY]: JSON.stringify({ condition: model.conditionRefs ? 'references' : 'zeros', losses: losses.map((l) => ({ name: l.name, weight: l.weight, settings: l.settings })) }),
      // The pixels above do not cover what a tap loss's targets come from: the correspondences.
      ...(losses.length ? { [ANNOTATIONS_KEY]: annotationsDigest(this.samples!) } : {}),
    };
    if (model.weights) this.initial = { ...model.weights.params };
  }

  /** Tokens per reference and per target at the attention sites, from one trace at batch 1. */
  private tokenCounts(): { refTokens: number; targetTokens: number } {
    if (!this.tokens) {
      const g = new Graph();
      const shape = [2, ...this.model.imageShape];
      const cond = this.model.conditionRefs ? o.zeros(g, [2, ...this.model.conditionShape!]) : undefined;
      const { tensors } = this.model.trace(g, o.zeros(g, shape), o.zeros(g, [2]), cond);
      const { layout } = tapsOf(this.model.attention, tensors, this.model.mapping.heads, 1, 1);
      this.tokens = { refTokens: layout.refTokens, targetTokens: layout.targetTokens };
    }
    return this.tokens;
  }

  /** The tap losses a batch with K references trains with (those needing more are left out). */
  private activeLosses(k: number): readonly TapLoss[] {
    return this.model.tapLosses.filter((l) => k >= (l.minRefs ?? 1));
  }

  modelFn(variant: string, batchSize: number): ModelFn {
    const key = `${variant}:${batchSize}`;
    let fn = this.fns.get(key);
    if (!fn) {
      const B = batchSize;
      const k = variant === VARIANT ? 0 : Number(variant.slice(1));
      const losses = this.activeLosses(k);
      const logged = this.model.tapLosses.length > 0;
      const shape = [B, ...this.model.imageShape];
      fn = (g) => {
        const t = g.input('t', [B]);
        const { xt, target } = flowMatchingNoise(g.input('x0', shape), g.input('noise', shape), t);
        let cond = this.model.conditionRefs ? g.input('condition', [B, ...this.model.conditionShape!]) : undefined;
        if (!losses.length) {
          // No tap loss for this K: the targets alone (no reference rows), flow still logged.
          const v = this.model.trace(g, xt, t, cond).output;
          const flow = v.sub(target).square().mean();
          return logged ? { loss: flow, outputs: { flow } } : { loss: flow };
        }
        // Targets, then each sample's K references (clean, t = 0), in one forward.
        const rows = B * (1 + k);
        const x = o.concat([xt, g.input('refs', [B * k, ...this.model.imageShape])], 0);
        const times = o.concat([t, o.zeros(g, [B * k])], 0);
        if (cond) {
          const c = cond.shape.slice(1);
          cond = o.concat([cond, o.reshape(o.expand(o.reshape(cond, [B, 1, ...c]), [B, k, ...c]), [B * k, ...c])], 0);
        }
        const { output, tensors } = this.model.trace(g, x, times, cond);
        const flow = o.slice(output, [0], [B], [0]).sub(target).square().mean();
        if (output.shape[0] !== rows) throw new RangeError(`model: the output has ${output.shape[0]} rows for ${rows} images`);
        const { taps, layout } = tapsOf(this.model.attention, tensors, this.model.mapping.heads, B, k);
        const outputs: Record<string, Sym> = { flow };
        let loss = flow;
        for (const l of losses) {
          const value = l.trace(g, taps, layout);
          outputs[l.name] = value;
          const scale = l.scale?.(g, layout);
          loss = o.add(loss, o.mul(scale ? o.mul(value, scale) : value, l.weight));
        }
        return { loss, outputs };
      };
      this.fns.set(key, fn);
    }
    return fn;
  }

  batch(step: number, batchSize: number, seed: number): TrainBatch {
    const rng = new Rng(seed).fork(`model-batch:${step}`);
    let picked: number[];
    let variant = VARIANT;
    if (this.samples) {
      // A first sample drawn uniformly (so K follows the data), the rest from its K group.
      const first = rng.int(this.samples.length);
      const k = this.samples[first]!.refs.length;
      const group = this.groups.get(k)!;
      picked = [first];
      while (picked.length < batchSize) picked.push(group[rng.int(group.length)]!);
      variant = `k${k}`;
    } else picked = Array.from({ length: batchSize }, () => rng.int(this.images.length));
    const x0 = imagesToTensor(picked.map((i) => this.images[i]!));
    const noise = new Tensor('float32', x0.shape, Float32Array.from({ length: x0.size }, () => rng.normal()));
    const t = new Tensor('float32', [batchSize], Float32Array.from({ length: batchSize }, () => rng.float()));
    const feeds: TrainBatch['feeds'] = { x0, noise, t };
    if (this.model.conditionRefs) feeds.condition = stackOnChannels(imagesToTensor(picked.flatMap((i) => this.condImages[i]!)), batchSize);
    let metrics = this.metrics;
    if (this.model.tapLosses.length) {
      const k = this.samples![picked[0]!]!.refs.length;
      const losses = this.activeLosses(k);
      metrics = ['flow', ...losses.map((l) => l.name)];
      if (losses.length) {
        feeds.refs = imagesToTensor(picked.flatMap((i) => this.refImages[i]!));
        const layout: TapLayout = { batch: batchSize, k, ...this.tokenCounts() };
        const samples = picked.map((i) => this.samples![i]! as unknown as SemAlignSample);
        for (const l of losses) Object.assign(feeds, l.feeds(samples, layout, { step, steps: this.options.steps }));
      }
    }
    return { variant, feeds, size: batchSize, metrics };
  }

  checkMetadata(meta: Readonly<Record<string, string>>): string[] {
    // Checkpoints from before the terms key trained without condition or tap losses.
    const out = metadataDifferences(meta, this.metadata, TERMS_KEY, JSON.stringify({ condition: 'zeros', losses: [] }), 'condition or attention losses');
    return [...out, ...annotationDifferences(meta, this.metadata, ANNOTATIONS_KEY, this.model.tapLosses.map((l) => l.name).join(' and '))];
  }

  withWeights(params: Record<string, Tensor>, info: { step: number; source: string }): unknown {
    return this.model.withWeights({ params, source: info.source, step: info.step });
  }
}

/**
 * Why a checkpoint with metadata `meta` cannot resume a run with `mine`: another export (digest),
 * LoRA settings, training images or `termsKey` entry (`termsDefault` when the checkpoint has none).
 */
export function metadataDifferences(meta: Readonly<Record<string, string>>, mine: Readonly<Record<string, string>>, termsKey: string, termsDefault: string, terms: string): string[] {
  const out: string[] = [];
  if (meta[ONNX_KEY] === undefined) return ['the checkpoint was not written by an imported-model training run (no model.onnx digest)'];
  if (meta[ONNX_KEY] !== mine[ONNX_KEY]) out.push(`the ONNX export differs: its .onnx file or the weights in its external-data side files (sha256 ${meta[ONNX_KEY]!.slice(0, 12)}… in the checkpoint, ${mine[ONNX_KEY]!.slice(0, 12)}… now)`);
  if (meta[LORA_KEY] !== mine[LORA_KEY]) out.push(`LoRA settings differ: ${meta[LORA_KEY]} in the checkpoint, ${mine[LORA_KEY]} in this graph`);
  if (meta[DATA_KEY] !== undefined && meta[DATA_KEY] !== mine[DATA_KEY]) out.push(`training images (count:hash) differ: ${meta[DATA_KEY]} in the checkpoint, ${mine[DATA_KEY]} in this graph`);
  const saved = meta[termsKey] ?? termsDefault;
  if (saved !== mine[termsKey]) out.push(`${terms} differ: ${saved} in the checkpoint, ${mine[termsKey]} in this graph`);
  return out;
}

/** [B·K, 3, h, w] (each sample's K references in order) → [B, 3·K, h, w]: a memory reshape. */
export function stackOnChannels(t: Tensor, batch: number): Tensor {
  const [, c, h, w] = t.shape as [number, number, number, number];
  return new Tensor('float32', [batch, (t.shape[0]! / batch) * c, h, w], t.data as Float32Array);
}
