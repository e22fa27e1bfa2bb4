import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { defineNode, type ImageValue } from 'tessera';
import { Tensor, decodeModel, defaultSessionCache, type Provider } from 'tessera/kernels';

/** HWC uint8 → NCHW float32 in [0, 1], the layout image encoders exported from PyTorch expect. */
export function imageToNchw(image: ImageValue): Tensor<'float32'> {
  const { width: w, height: h, channels: c, data } = image;
  const out = new Float32Array(c * h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[k * h * w + y * w + x] = data[(y * w + x) * c + k]! / 255;
  return new Tensor('float32', [1, c, h, w], out);
}

/**
 * Runs an external .onnx image encoder on an IMAGE and outputs its embedding TENSOR. The model
 * file is read from disk (never downloaded); its declared input shape is checked against the
 * image before running, so a mismatch names both shapes instead of failing inside ONNX Runtime.
 */
export const Embed = defineNode({
  type: 'onnx-embedder/Embed',
  title: 'Embed image (ONNX)',
  category: 'encoders',
  description: 'Embeds an IMAGE with an .onnx encoder file (input NCHW float32 in [0,1]).',
  version: '1.0.0',
  inputs: { image: { type: 'IMAGE' } },
  outputs: { embedding: { type: 'TENSOR' } },
  params: {
    type: 'object',
    required: ['model'],
    properties: {
      model: { type: 'string', minLength: 1, description: 'path of the .onnx file', 'x-widget': 'file' },
      output: { type: 'string', description: 'output name (default: the first)' },
      provider: { enum: ['cpu', 'webgpu', 'cuda'], default: 'cpu' },
    },
    additionalProperties: false,
  },
  // Re-run when the file changes, not only when the path does.
  cache: {
    fingerprint: async (params) => {
      const s = await stat(resolve(String(params.model)));
      return `${s.size}:${s.mtimeMs}`;
    },
  },
  async execute({ inputs, params }) {
    const path = resolve(params.model);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (error) {
      throw new Error(`cannot read model ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    let model;
    try {
      model = decodeModel(bytes);
    } catch (error) {
      throw new Error(`${path} is not a valid ONNX model: ${(error as Error).message}`);
    }
    const initNames = new Set(model.graph.initializers.map((t) => t.name));
    const input = model.graph.inputs.find((i) => !initNames.has(i.name));
    if (!input) throw new Error(`${path} has no non-initializer input`);
    const x = imageToNchw(inputs.image);
    const want = input.shape ?? [];
    const fits = want.length === x.shape.length && want.every((d, i) => typeof d !== 'number' || d === x.shape[i]);
    if (!fits) throw new Error(`model input "${input.name}" expects shape [${want.join(', ')}], image gives [${x.shape.join(', ')}]`);
    const output = params.output ?? model.graph.outputs[0]?.name;
    if (!output || !model.graph.outputs.some((o) => o.name === output)) throw new Error(`${path} has no output "${output}" (outputs: ${model.graph.outputs.map((o) => o.name).join(', ')})`);
    const session = await defaultSessionCache.get(bytes, { provider: params.provider as Provider });
    const result = await session.run({ [input.name]: x }, [output]);
    return { embedding: result[output]! };
  },
});
