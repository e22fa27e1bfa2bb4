import { closeNames, importOnnxModel, loraRewrites, ops as o, type Graph, type ImportedParam, type OnnxModel, type Sym, type Tensor } from 'tessera/kernels';
import type { Trainable, TrainingProgram } from 'tessera/train';
import type { AttentionTap, AttentionTapModel, TapLayout, TapLoss } from './attentionTaps.ts';
import { evaluateTaps } from './evaluateTaps.ts';
import { FlowMatchingProgram } from './FlowMatchingProgram.ts';
import { frozenView, REF_PREFIX } from './frozenView.ts';
import type { PairObjective, PairObjectiveModel } from './pairObjective.ts';
import { PreferenceFlowProgram } from './PreferenceFlowProgram.ts';

/** Which graph inputs and output of the export play which part in training. */
export interface ModelMapping {
  /** NCHW image input ([batch, C, H, W], C/H/W static). */
  image: string;
  /** Diffusion/flow time input ([batch]). */
  time: string;
  /** Optional condition input ('' = none). */
  condition: string;
  /**
   * What the condition input gets: 'references', each sample's K reference images stacked on
   * channels ([batch, 3·K, h, w], box-averaged to h×w; SemAlign samples), or 'zeros'
   * (unconditional training, any shape).
   */
  conditionFrom: 'references' | 'zeros';
  /** Output tensor: the predicted velocity, shaped like the image. */
  output: string;
  /** The time fed is t · timeScale (t in [0, 1]; e.g. 1000 for DiT-style step counts). */
  timeScale: number;
  /** Attention sites as q/k ONNX tensor names ([batch, heads, tokens, d] or [batch, tokens, channels]); tap losses read them. */
  attention: readonly { readonly q: string; readonly k: string }[];
  /** Heads a [batch, tokens, channels] q/k splits into. */
  heads: number;
}

export interface LoraSpec {
  rank: number;
  alpha: number;
  targets: string[];
}

export interface ImportedWeights {
  params: Record<string, Tensor>;
  source: string;
  step: number;
}

/** The static non-batch dims of a graph input, or a RangeError saying why there are none. */
function staticDims(model: OnnxModel, name: string, rank: number, role: string): number[] {
  const info = model.graph.inputs.find((i) => i.name === name);
  if (!info) throw new RangeError(`model/ImportOnnx: the ${role} input '${name}' is no graph input (inputs: ${model.graph.inputs.map((i) => i.name).join(', ')})`);
  const dims = info.shape?.slice(1);
  if (!info.shape || info.shape.length !== rank || dims!.some((d) => typeof d !== 'number' || d < 1)) {
    throw new RangeError(`model/ImportOnnx: the ${role} input '${name}' is [${info.shape?.join(', ') ?? '?'}]; it must be rank ${rank} with static dims after the batch`);
  }
  return dims as number[];
}

/**
 * A MODEL handle made from an imported ONNX export: the decoded graph, its input mapping, an
 * optional LoRA spec and the weights of a training run. Train fine-tunes it with a flow-matching
 * loss (FlowMatchingProgram); with LoRA only the adapters train and the export's weights stay frozen.
 */
export class ImportedModel implements Trainable, AttentionTapModel, PairObjectiveModel {
  readonly kind = 'imported';
  /** [C, H, W] of the image input. */
  readonly imageShape: number[];
  readonly conditionShape: number[] | null;
  /** References per sample the condition input takes (conditionFrom 'references'), else 0. */
  readonly conditionRefs: number;

  constructor(
    readonly onnx: OnnxModel,
    /** sha256 of the .onnx bytes and of the weights read from its side files (see onnxDigest; checkpoints record it). */
    readonly digest: string,
    readonly mapping: ModelMapping,
    readonly lora: LoraSpec | null = null,
    readonly weights: ImportedWeights | null = null,
    /** Losses on the attention taps (mosaic/SCALoss's SCAL), added to the flow loss. */
    readonly tapLosses: readonly TapLoss[] = [],
    /** A preference objective (focusdpo/DPOLoss) replacing flow matching: training data are then preference pairs. */
    readonly objective: PairObjective | null = null,
  ) {
    this.imageShape = staticDims(onnx, mapping.image, 4, 'image');
    if (this.imageShape[0] !== 3) throw new RangeError(`model/ImportOnnx: the image input '${mapping.image}' has ${this.imageShape[0]} channels; training images are RGB (3)`);
    staticDims(onnx, mapping.time, 1, 'time');
    const info = mapping.condition ? onnx.graph.inputs.find((i) => i.name === mapping.condition) : undefined;
    this.conditionShape = mapping.condition ? staticDims(onnx, mapping.condition, info?.shape?.length ?? 2, 'condition') : null;
    this.conditionRefs = 0;
    if (this.conditionShape && mapping.conditionFrom === 'references') {
      const c = this.conditionShape[0]!;
      if (this.conditionShape.length !== 3 || c % 3) throw new RangeError(`model/ImportOnnx: the condition input '${mapping.condition}' is [batch, ${this.conditionShape.join(', ')}]; conditionFrom 'references' feeds the K reference images stacked on channels, [batch, 3·K, h, w] (or set conditionFrom to 'zeros')`);
      this.conditionRefs = c / 3;
    }
    const others = onnx.graph.inputs.filter((i) => ![mapping.image, mapping.time, mapping.condition].includes(i.name) && !onnx.graph.initializers.some((t) => t.name === i.name));
    if (others.length) throw new RangeError(`model/ImportOnnx: graph input${others.length > 1 ? 's' : ''} ${others.map((i) => `'${i.name}'`).join(', ')} ${others.length > 1 ? 'are' : 'is'} not mapped (map them as image, time or condition)`);
    if (!onnx.graph.outputs.some((x) => x.name === mapping.output)) throw new RangeError(`model/ImportOnnx: output '${mapping.output}' is no graph output (outputs: ${onnx.graph.outputs.map((x) => x.name).join(', ')})`);
    if (!Number.isInteger(mapping.heads) || mapping.heads < 1) throw new RangeError(`model/ImportOnnx: heads must be a positive integer, got ${mapping.heads}`);
    const produced = new Set(onnx.graph.nodes.flatMap((n) => n.outputs));
    for (const name of mapping.attention.flatMap((a) => [a.q, a.k])) {
      if (!produced.has(name)) throw new RangeError(`model/ImportOnnx: attention tensor '${name}' is no node output of the export; close names: ${closeNames(name, produced, 6).join(', ') || '(none)'}`);
    }
  }

  get attention(): ModelMapping['attention'] {
    return this.mapping.attention;
  }

  withLora(lora: LoraSpec): ImportedModel {
    return new ImportedModel(this.onnx, this.digest, this.mapping, lora, this.weights, this.tapLosses, this.objective);
  }

  withWeights(weights: ImportedWeights): ImportedModel {
    return new ImportedModel(this.onnx, this.digest, this.mapping, this.lora, weights, this.tapLosses, this.objective);
  }

  /** Adds a loss on the attention taps (one of the same name is replaced); needs named q/k. */
  withTapLoss(loss: TapLoss): ImportedModel {
    if (!this.mapping.attention.length) throw new RangeError(`${loss.describe()} needs the model's attention q/k tensors: name them in model/ImportOnnx's attention parameter`);
    if (this.objective) throw new RangeError(`${loss.describe()} cannot be added under ${this.objective.describe()}: a preference objective replaces the flow loss the tap losses add to`);
    return new ImportedModel(this.onnx, this.digest, this.mapping, this.lora, this.weights, [...this.tapLosses.filter((l) => l.name !== loss.name), loss], this.objective);
  }

  /** `fn` on the taps of one forward over one sample (see AttentionTapModel.evaluateTaps). */
  evaluateTaps(sample: unknown, t: number, seed: number, fn: (g: Graph, taps: readonly AttentionTap[], layout: TapLayout) => Record<string, Sym>): Promise<Record<string, Tensor>> {
    return evaluateTaps(this.forInference(), sample, t, seed, fn);
  }

  /** The model to run forward: itself, or (LoRA never trained) the export alone, which it equals exactly. */
  forInference(): ImportedModel {
    // Untrained adapters add nothing (B starts at zero) and have no values to bake in.
    return this.lora && !this.weights ? new ImportedModel(this.onnx, this.digest, this.mapping) : this;
  }

  /** Trains under a preference objective (Flow-DPO) instead of flow matching, against a frozen copy of this model. */
  withPairObjective(objective: PairObjective): ImportedModel {
    if (this.tapLosses.length) throw new RangeError(`${objective.describe()} cannot replace flow matching while ${this.tapLosses.map((l) => l.describe()).join(', ')} is attached; put the preference objective on a model without tap losses`);
    return new ImportedModel(this.onnx, this.digest, this.mapping, this.lora, this.weights, this.tapLosses, objective);
  }

  /**
   * The export replayed on images x, times t (in [0, 1]) and, when conditionFrom is
   * 'references', the condition [rows, 3·K, h, w]: its output, every tensor by ONNX name and the name map.
   */
  trace(g: Graph, x: Sym, t: Sym, condition?: Sym): { output: Sym; tensors: Record<string, Sym>; names: Map<string, ImportedParam[]> } {
    return this.replay(g, x, t, condition, '');
  }

  /**
   * The same replay with every param frozen and named `ref.<param>` (LoRA adapters included): the
   * reference a preference objective compares against, initialised like the policy.
   */
  traceReference(g: Graph, x: Sym, t: Sym, condition?: Sym): { output: Sym } {
    return this.replay(frozenView(g), x, t, condition, REF_PREFIX);
  }

  private replay(g: Graph, x: Sym, t: Sym, condition: Sym | undefined, prefix: string): { output: Sym; tensors: Record<string, Sym>; names: Map<string, ImportedParam[]> } {
    const inputs: Record<string, Sym> = Object.create(null);
    inputs[this.mapping.image] = x;
    inputs[this.mapping.time] = t.mul(this.mapping.timeScale);
    if (this.mapping.condition) {
      if (this.conditionRefs && !condition) throw new RangeError(`model: the condition input '${this.mapping.condition}' takes reference images; none were given`);
      inputs[this.mapping.condition] = this.conditionRefs ? condition! : o.expand(g.constant(0), [x.shape[0]!, ...this.conditionShape!]);
    }
    const rewrites = this.lora ? loraRewrites(g, { ...this.lora, prefix }) : [];
    const { tensors, names } = importOnnxModel(g, this.onnx, inputs, { params: this.lora ? 'frozen' : 'trainable', rewrites, prefix });
    const output = tensors[this.mapping.output]!;
    if (output.shape.join() !== x.shape.join()) throw new RangeError(`model: output '${this.mapping.output}' is [${output.shape.join(', ')}]; a velocity must be shaped like the image [${x.shape.join(', ')}]`);
    return { output, tensors, names };
  }

  trainingProgram(data: unknown, options: { steps: number }): TrainingProgram {
    return this.objective ? new PreferenceFlowProgram(this, this.objective, data) : new FlowMatchingProgram(this, data, options);
  }

  describe(): string {
    const [c, h, w] = this.imageShape;
    const lora = this.lora ? `, LoRA rank ${this.lora.rank} on ${this.lora.targets.join(', ')}` : '';
    const cond = this.conditionRefs ? `, condition: ${this.conditionRefs} reference image${this.conditionRefs > 1 ? 's' : ''}` : this.mapping.condition ? ', condition: zeros' : '';
    const taps = this.mapping.attention.length ? `, ${this.mapping.attention.length} attention site${this.mapping.attention.length > 1 ? 's' : ''}` : '';
    const losses = this.objective ? ` · ${this.objective.describe()}` : this.tapLosses.length ? ` · + ${this.tapLosses.map((l) => l.describe()).join(' + ')}` : '';
    return `imported model: ${this.onnx.graph.nodes.length} nodes, ${this.onnx.graph.initializers.length} initializers, image ${c}×${h}×${w}${cond}${taps}${lora}${losses}${this.weights ? `, weights from ${this.weights.source} (step ${this.weights.step})` : ''}`;
  }
}
