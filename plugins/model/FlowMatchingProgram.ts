import { createHash } from 'node:crypto';
import { Rng, type ImageValue } from 'tessera';
import { Tensor, flowMatchingNoise, type ModelFn } from 'tessera/kernels';
import type { TrainBatch, TrainingProgram } from 'tessera/train';
import { boxDownsample, trainingImages } from './images.ts';
import { imagesToTensor } from 'tessera/latent';
import type { Graph, Sym, Tensor as TensorT } from 'tessera/kernels';

/**
 * What the program reads of an imported-model handle. ImportedModel implements it; the program
 * depends on this shape rather than the class, so the two files do not import each other.
 */
export interface FlowModelState {
  readonly imageShape: readonly number[];
  readonly digest: string;
  readonly lora: unknown;
  readonly weights: { readonly params: Readonly<Record<string, TensorT>> } | null;
  trace(g: Graph, xt: Sym, t: Sym): { output: Sym };
  withWeights(weights: { params: Record<string, TensorT>; source: string; step: number }): unknown;
}

export const ONNX_KEY = 'model.onnx';
export const LORA_KEY = 'model.lora';
export const DATA_KEY = 'model.data';

const VARIANT = 'default';

/**
 * Flow matching on a list of images: x_t = (1 − t)·x0 + t·ε, the export predicts ε − x0 from
 * (x_t, t), loss = mean squared error. Images are box-averaged to the model's input size once.
 * The batch of step s (images, ε and t ~ U(0, 1)) is a pure function of (seed, s).
 */
export class FlowMatchingProgram implements TrainingProgram {
  readonly variants = [VARIANT];
  readonly metrics: string[] = [];
  readonly metadata: Record<string, string>;
  readonly initial?: Record<string, Tensor>;
  private readonly images: ImageValue[];
  private readonly fns = new Map<number, ModelFn>();

  constructor(
    private readonly model: FlowModelState,
    data: unknown,
    _options: { steps: number },
  ) {
    const [, h, w] = model.imageShape as [number, number, number];
    this.images = trainingImages(data).map((im, i) => boxDownsample(im, w, h, `model: training image ${i}`));
    const hash = createHash('sha256');
    for (const im of this.images) hash.update(im.data);
    this.metadata = {
      [ONNX_KEY]: model.digest,
      [LORA_KEY]: JSON.stringify(model.lora),
      [DATA_KEY]: `${this.images.length}:${hash.digest('hex').slice(0, 16)}`,
    };
    if (model.weights) this.initial = { ...model.weights.params };
  }

  modelFn(_variant: string, batchSize: number): ModelFn {
    let fn = this.fns.get(batchSize);
    if (!fn) {
      const shape = [batchSize, ...this.model.imageShape];
      fn = (g) => {
        const t = g.input('t', [batchSize]);
        const { xt, target } = flowMatchingNoise(g.input('x0', shape), g.input('noise', shape), t);
        const v = this.model.trace(g, xt, t).output;
        return { loss: v.sub(target).square().mean() };
      };
      this.fns.set(batchSize, fn);
    }
    return fn;
  }

  batch(step: number, batchSize: number, seed: number): TrainBatch {
    const rng = new Rng(seed).fork(`model-batch:${step}`);
    const picked = Array.from({ length: batchSize }, () => this.images[rng.int(this.images.length)]!);
    const x0 = imagesToTensor(picked);
    const noise = new Tensor('float32', x0.shape, Float32Array.from({ length: x0.size }, () => rng.normal()));
    const t = new Tensor('float32', [batchSize], Float32Array.from({ length: batchSize }, () => rng.float()));
    return { variant: VARIANT, feeds: { x0, noise, t }, size: batchSize, metrics: [] };
  }

  checkMetadata(meta: Readonly<Record<string, string>>): string[] {
    const out: string[] = [];
    if (meta[ONNX_KEY] === undefined) return ['the checkpoint was not written by an imported-model training run (no model.onnx digest)'];
    if (meta[ONNX_KEY] !== this.metadata[ONNX_KEY]) out.push(`the ONNX export differs: its .onnx file or the weights in its external-data side files (sha256 ${meta[ONNX_KEY]!.slice(0, 12)}… in the checkpoint, ${this.metadata[ONNX_KEY]!.slice(0, 12)}… now)`);
    if (meta[LORA_KEY] !== this.metadata[LORA_KEY]) out.push(`LoRA settings differ: ${meta[LORA_KEY]} in the checkpoint, ${this.metadata[LORA_KEY]} in this graph`);
    if (meta[DATA_KEY] !== undefined && meta[DATA_KEY] !== this.metadata[DATA_KEY]) out.push(`training images (count:hash) differ: ${meta[DATA_KEY]} in the checkpoint, ${this.metadata[DATA_KEY]} in this graph`);
    return out;
  }

  withWeights(params: Record<string, Tensor>, info: { step: number; source: string }): unknown {
    return this.model.withWeights({ params, source: info.source, step: info.step });
  }
}
