import { defineNode } from 'tessera';
import { ImportedModel } from '../ImportedModel.ts';

/** Adds LoRA adapters to an imported model: only they train, the export's weights stay frozen. */
export const LoRA = defineNode({
  type: 'model/LoRA',
  title: 'LoRA',
  category: 'model',
  description:
    'Wraps the MatMul/Gemm/Conv layers of an imported model whose PyTorch module path or weight name matches a target ("qkv", "blocks.*.mlp.*") with rank-r adapters (B starts at zero, so the model is unchanged until trained). A target that matches no layer is an error listing close names.',
  version: '1.0.0',
  inputs: { model: { type: 'MODEL', description: 'From model/ImportOnnx.' } },
  outputs: { model: { type: 'MODEL', description: 'The same model with adapters; wire into train/Train.' } },
  params: {
    type: 'object',
    properties: {
      rank: { type: 'integer', default: 4, minimum: 1, maximum: 1024, description: 'Adapter rank r.' },
      alpha: { type: 'number', default: 4, minimum: 0, maximum: 1e6, description: 'Scale alpha / rank on the adapter output.' },
      targets: { type: 'string', default: '*', maxLength: 2000, description: 'Comma-separated globs over module paths or weight names (* = any characters).' },
    },
    additionalProperties: false,
  },
  async execute(ctx) {
    const m = ctx.inputs.model;
    if (!(m instanceof ImportedModel)) throw new TypeError('model/LoRA: the model input must come from model/ImportOnnx');
    const targets = ctx.params.targets.split(',').map((s) => s.trim()).filter(Boolean);
    if (!targets.length) throw new RangeError('model/LoRA: name at least one target');
    const model = m.withLora({ rank: ctx.params.rank, alpha: ctx.params.alpha, targets });
    ctx.log.info(model.describe());
    return { model };
  },
});
