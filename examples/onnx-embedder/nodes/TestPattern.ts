import { defineNode, type ImageValue } from 'tessera';

/** A deterministic RGB image (two-colour checkerboard) so graphs can run without any data. */
export const TestPattern = defineNode({
  type: 'onnx-embedder/TestPattern',
  title: 'Test pattern',
  category: 'encoders',
  description: 'A two-colour RGB checkerboard of the given size and cell size.',
  version: '1.0.0',
  inputs: {},
  outputs: { image: { type: 'IMAGE' } },
  params: {
    type: 'object',
    properties: {
      size: { type: 'integer', minimum: 1, maximum: 4096, default: 8 },
      cell: { type: 'integer', minimum: 1, default: 2 },
      a: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 255 }, minItems: 3, maxItems: 3, default: [255, 0, 0] },
      b: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 255 }, minItems: 3, maxItems: 3, default: [0, 0, 255] },
    },
    additionalProperties: false,
  },
  execute: ({ params }) => {
    const { size, cell } = params;
    const [a, b] = [params.a as number[], params.b as number[]];
    const data = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const c = (Math.floor(x / cell) + Math.floor(y / cell)) % 2 ? b : a;
        data.set(c, (y * size + x) * 3);
      }
    const image: ImageValue = { width: size, height: size, channels: 3, data };
    return { image };
  },
});
