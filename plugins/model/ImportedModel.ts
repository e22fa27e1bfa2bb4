import { importOnnxModel, loraRewrites, ops as o, type Graph, type ImportedParam, type OnnxModel, type Sym, type Tensor } from 'tessera/kernels';
import type { Trainable, TrainingProgram } from 'tessera/train';
import { FlowMatchingProgram } from './FlowMatchingProgram.ts';

/** Which graph inputs and output of the export play which part in training. */
export interface ModelMapping {
  /** NCHW image input ([batch, C, H, W], C/H/W static). */
  image: string;
  /** Diffusion/flow time input ([batch]). */
  time: string;
  /** Optional condition input ('' = none); fed zeros (unconditional training). */
  condition: string;
  /** Output tensor: the predicted velocity, shaped like the image. */
  output: string;
  /** The time fed is t · timeScale (t in [0, 1]; e.g. 1000 for DiT-style step counts). */
  timeScale: number;
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
export class ImportedModel implements Trainable {
  /** [C, H, W] of the image input. */
  readonly imageShape: number[];
  readonly conditionShape: number[] | null;

  constructor(
    readonly onnx: OnnxModel,
    /** sha256 of the .onnx bytes and of the weights read from its side files (see onnxDigest; checkpoints record it). */
    readonly digest: string,
    readonly mapping: ModelMapping,
    readonly lora: LoraSpec | null = null,
    readonly weights: ImportedWeights | null = null,
  ) {
    this.imageShape = staticDims(onnx, mapping.image, 4, 'image');
    if (this.imageShape[0] !== 3) throw new RangeError(`model/ImportOnnx: the image input '${mapping.image}' has ${this.imageShape[0]} channels; training images are RGB (3)`);
    staticDims(onnx, mapping.time, 1, 'time');
    const info = mapping.condition ? onnx.graph.inputs.find((i) => i.name === mapping.condition) : undefined;
    this.conditionShape = mapping.condition ? staticDims(onnx, mapping.condition, info?.shape?.length ?? 2, 'condition') : null;
    const others = onnx.graph.inputs.filter((i) => ![mapping.image, mapping.time, mapping.condition].includes(i.name) && !onnx.graph.initializers.some((t) => t.name === i.name));
    if (others.length) throw new RangeError(`model/ImportOnnx: graph input${others.length > 1 ? 's' : ''} ${others.map((i) => `'${i.name}'`).join(', ')} ${others.length > 1 ? 'are' : 'is'} not mapped (map them as image, time or condition)`);
    if (!onnx.graph.outputs.some((x) => x.name === mapping.output)) throw new RangeError(`model/ImportOnnx: output '${mapping.output}' is no graph output (outputs: ${onnx.graph.outputs.map((x) => x.name).join(', ')})`);
  }

  withLora(lora: LoraSpec): ImportedModel {
    return new ImportedModel(this.onnx, this.digest, this.mapping, lora, this.weights);
  }

  withWeights(weights: ImportedWeights): ImportedModel {
    return new ImportedModel(this.onnx, this.digest, this.mapping, this.lora, weights);
  }

  /** The export replayed on (x, t): its output, every tensor by ONNX name and the name map. */
  trace(g: Graph, x: Sym, t: Sym): { output: Sym; tensors: Record<string, Sym>; names: Map<string, ImportedParam[]> } {
    const inputs: Record<string, Sym> = Object.create(null);
    inputs[this.mapping.image] = x;
    inputs[this.mapping.time] = t.mul(this.mapping.timeScale);
    if (this.mapping.condition) inputs[this.mapping.condition] = o.expand(g.constant(0), [x.shape[0]!, ...this.conditionShape!]);
    const rewrites = this.lora ? loraRewrites(g, this.lora) : [];
    const { tensors, names } = importOnnxModel(g, this.onnx, inputs, { params: this.lora ? 'frozen' : 'trainable', rewrites });
    const output = tensors[this.mapping.output]!;
    if (output.shape.join() !== x.shape.join()) throw new RangeError(`model: output '${this.mapping.output}' is [${output.shape.join(', ')}]; a velocity must be shaped like the image [${x.shape.join(', ')}]`);
    return { output, tensors, names };
  }

  trainingProgram(data: unknown, options: { steps: number }): TrainingProgram {
    return new FlowMatchingProgram(this, data, options);
  }

  describe(): string {
    const [c, h, w] = this.imageShape;
    const lora = this.lora ? `, LoRA rank ${this.lora.rank} on ${this.lora.targets.join(', ')}` : '';
    return `imported model: ${this.onnx.graph.nodes.length} nodes, ${this.onnx.graph.initializers.length} initializers, image ${c}×${h}×${w}${lora}${this.weights ? `, weights from ${this.weights.source} (step ${this.weights.step})` : ''}`;
  }
}
