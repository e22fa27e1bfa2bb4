import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { defineNode } from 'tessera';
import { decodeModel, resolveExternalData } from 'tessera/kernels';
import { ImportedModel } from '../ImportedModel.ts';
import { onnxDigest, onnxFingerprint } from '../onnxIdentity.ts';

/** "q=k, q=k" → pairs; a malformed entry is a RangeError quoting it. */
export function parseAttention(text: string): { q: string; k: string }[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const parts = entry.split('=').map((s) => s.trim());
      if (parts.length !== 2 || !parts[0] || !parts[1]) throw new RangeError(`model/ImportOnnx: attention entry '${entry}' is not q=k (two ONNX tensor names)`);
      return { q: parts[0], k: parts[1] };
    });
}

const name = (def: string, description: string) => ({ type: 'string', default: def, maxLength: 512, description }) as const;

/** Loads a PyTorch-exported ONNX file from the workspace as a trainable MODEL handle. */
export const ImportOnnx = defineNode({
  type: 'model/ImportOnnx',
  title: 'Import ONNX model',
  category: 'model',
  description:
    'Imports an ONNX export (e.g. a DiT from torch.onnx.export; external-data side files and float16 weights included) as a MODEL handle that train/Train fine-tunes with a flow-matching loss on images. Map which graph inputs are the image, the time and the condition (fed the samples\' reference images), which output is the predicted velocity, and which q/k tensors are attention for mosaic/SCALoss and mosaic/MDLoss. See docs/import.md.',
  version: '1.1.0',
  inputs: {},
  outputs: { model: { type: 'MODEL', description: 'The imported model (all weights trainable unless model/LoRA is wired after it).' } },
  params: {
    type: 'object',
    properties: {
      file: { type: 'string', default: '', 'x-path': 'read', description: 'The .onnx file inside the workspace (relative to its root). Side files of external data must be in its folder.' },
      image: name('x', 'Graph input taking the image, [batch, 3, H, W].'),
      time: name('t', 'Graph input taking the time, [batch].'),
      condition: name('', 'Graph input taking the condition ("" = none).'),
      conditionFrom: { type: 'string', enum: ['references', 'zeros'], default: 'references', description: 'What the condition input gets: references = each SemAlign sample\'s K reference images stacked on channels ([batch, 3·K, h, w], box-averaged to h×w); zeros = unconditional training (any shape).' },
      output: name('y', 'Graph output: the predicted velocity ε − x0, shaped like the image.'),
      timeScale: { type: 'number', default: 1, minimum: 0, maximum: 1e6, description: 'The time input gets t · timeScale with t in [0, 1] (1000 for models trained on step counts).' },
      attention: { type: 'string', default: '', maxLength: 8000, description: 'Attention sites for correspondence losses and heatmaps (mosaic/SCALoss, mosaic/MDLoss): comma-separated q=k pairs of ONNX tensor names, each [batch, heads, tokens, d] or [batch, tokens, channels] ("" = none).' },
      heads: { type: 'integer', default: 1, minimum: 1, maximum: 1024, description: 'Heads a [batch, tokens, channels] q/k pair splits into.' },
    },
    additionalProperties: false,
  },
  // A rewritten export or side file (same path, new bytes) must not be served from the cache.
  cache: {
    async fingerprint(p, paths) {
      if (!p.file) return 'none';
      // Throws on an unreadable file: the engine then runs the node (which reports why).
      return onnxFingerprint(await paths.resolvePath(String(p.file)));
    },
  },
  async execute(ctx) {
    const p = ctx.params;
    if (!p.file) throw new RangeError('model/ImportOnnx: set file to an .onnx export inside the workspace');
    const path = await ctx.resolvePath(p.file, 'read');
    const bytes = await readFile(path);
    let onnx;
    let external;
    try {
      onnx = decodeModel(bytes);
      external = onnx.graph.initializers.filter((t) => t.external);
      await resolveExternalData(onnx, dirname(path));
    } catch (e) {
      throw new Error(`model/ImportOnnx: ${p.file}: ${(e as Error).message}`);
    }
    const mapping = { image: p.image, time: p.time, condition: p.condition, conditionFrom: p.conditionFrom as 'references' | 'zeros', output: p.output, timeScale: p.timeScale, attention: parseAttention(p.attention), heads: p.heads };
    const model = new ImportedModel(onnx, onnxDigest(bytes, external), mapping);
    ctx.log.info(model.describe());
    return { model };
  },
});
