import { defineNode } from 'tessera';
import { checkSupportedBase } from '../supportedBase.ts';
import { MosaicModel } from 'tessera/mosaic';
import { isPairObjectiveModel } from 'tessera/model';
import { DpoModel } from '../DpoModel.ts';
import { importedObjective } from '../importedObjective.ts';
import { DEFAULT_FOCUS, parseFocusSpec, UNIFORM_FOCUS } from '../focusSpec.ts';

/** Wires a preference objective into a trained MOSAIC model for train/Train. */
export const DPOLoss = defineNode({
  type: 'focusdpo/DPOLoss',
  title: 'FocusDPO: DPO loss',
  category: 'focusdpo',
  description:
    'Spatially weighted Flow-DPO against a frozen copy of the input model, in one ONNX step: loss = −log σ(−β/2 · Σ_p W_p [(e_θ,w − e_ref,w) − (e_θ,l − e_ref,l)]), e = per-patch flow-matching error, winner and loser with the same noise and t. Uniform W = Diffusion-DPO; objective sft = weighted flow matching on winners. Logs implicit accuracy, margin and rewards every step. Train with train/Train on focusdpo/PreferencePairs.',
  version: '1.0.0',
  inputs: {
    model: { type: 'MODEL', description: 'A MOSAIC model with weights (they become the policy’s start and the frozen reference), or an imported one (model/ImportOnnx, optionally with model/LoRA; weighting uniform).' },
    focus: { type: 'JSON', optional: true, description: 'Focus map spec from focusdpo/FocusMap (default: its defaults).' },
  },
  outputs: { model: { type: 'MODEL', description: 'A trainable handle for train/Train; Train returns a MOSAIC model with the post-trained weights.' } },
  params: {
    type: 'object',
    properties: {
      objective: { type: 'string', enum: ['dpo', 'sft'], default: 'dpo', description: 'dpo: the preference loss; sft: the supervised baseline (W-weighted flow matching on winners only).' },
      weighting: { type: 'string', enum: ['focus', 'uniform'], default: 'focus', description: 'focus: W_t from the focus input; uniform: W = 1/N (plain Diffusion-DPO / plain SFT).' },
      beta: { type: 'number', default: 2000, minimum: 0, maximum: 1e9, description: 'β (Diffusion-DPO’s β·T·ω(λ_t) folded into one constant).' },
      subset: { type: 'string', enum: ['all', 'lora'], default: 'all', description: 'Trainable policy parameters: all, or the reference-branch LoRA adapters only (MOSAIC’s only adapters).' },
    },
  },
  execute(ctx) {
    const p = ctx.params;
    const model = ctx.inputs.model;
    if (isPairObjectiveModel(model)) {
      // An imported model: no MOSAIC grid or maps for the focus terms; what trains is model/LoRA's choice.
      if (p.weighting !== 'uniform') throw new RangeError('focusdpo/DPOLoss: on an imported model set weighting to uniform (the focus map needs MOSAIC\'s patch grid and correspondence maps)');
      if (p.subset === 'lora' && !model.lora) throw new RangeError('focusdpo/DPOLoss: subset lora needs adapters on the imported model; wire model/LoRA before this node');
      if (p.subset === 'all' && model.lora) ctx.log.warn('focusdpo/DPOLoss: the imported model has LoRA adapters, so only they train (subset all does not unfreeze the export\'s weights)');
      const handle = model.withPairObjective(importedObjective({ objective: p.objective as 'dpo' | 'sft', beta: p.beta }));
      ctx.log.info(handle.describe());
      return { model: handle };
    }
    if (!(model instanceof MosaicModel)) throw new TypeError('focusdpo/DPOLoss: the model input must be a MOSAIC model (from mosaic/Model) with weights, or an imported model (model/ImportOnnx)');
    checkSupportedBase(model, 'focusdpo/DPOLoss');
    if (!model.weights) throw new Error('focusdpo/DPOLoss: the model has no weights; load a checkpoint (mosaic/Model checkpoint) or train it first');
    if (p.subset === 'lora' && model.config.loraRank === 0) throw new RangeError('focusdpo/DPOLoss: subset lora needs a model with LoRA adapters (loraRank > 0)');
    const focus = p.weighting === 'uniform' ? UNIFORM_FOCUS : ctx.inputs.focus === undefined ? DEFAULT_FOCUS : parseFocusSpec(ctx.inputs.focus, 'focusdpo/DPOLoss');
    const handle = new DpoModel(model, { objective: p.objective as 'dpo' | 'sft', subset: p.subset as 'all' | 'lora', beta: p.beta, focus, mapBlocks: model.mapBlocks });
    // E.g. a v2 base trained with mosaic/SubjectWeight: its training terms do not carry over.
    if (model.terms.length) ctx.log.warn(`focusdpo/DPOLoss: the base model's loss terms (${model.terms.map((t) => t.kind).join(', ')}) are not part of the DPO objective; W_t weighs the loss instead`);
    ctx.log.info(handle.describe());
    return { model: handle };
  },
});
