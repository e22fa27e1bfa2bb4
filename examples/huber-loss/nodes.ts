import { defineNode } from 'tessera';
import { HUBER_KERNELS } from './huber.ts';

/** A TENSOR from params (shape and row-major values), to feed the loss from a graph file. */
export const TensorNode = defineNode({
  type: 'huber/Tensor',
  title: 'Tensor',
  category: 'huber',
  description: 'A constant TENSOR {shape, data} from its params.',
  version: '1.0.0',
  inputs: {},
  outputs: { tensor: { type: 'TENSOR' } },
  params: {
    type: 'object',
    properties: {
      shape: { type: 'array', items: { type: 'integer', minimum: 1 }, default: [1] },
      values: { type: 'array', items: { type: 'number' }, default: [0] },
    },
    additionalProperties: false,
  },
  execute: ({ params }) => {
    const n = params.shape.reduce((a, b) => a * b, 1);
    if (params.values.length !== n) throw new RangeError(`huber/Tensor: ${params.values.length} values for shape [${params.shape.join(', ')}] (${n} elements)`);
    return { tensor: { shape: params.shape, data: Float32Array.from(params.values) } };
  },
});

/** Huber loss of pred against target and its gradient, computed by the plugin's kernels service. */
export const HuberLossNode = defineNode({
  type: 'huber/HuberLoss',
  title: 'Huber loss',
  category: 'huber',
  description: 'Mean Huber loss (quadratic within delta, linear beyond) and d loss / d pred.',
  version: '1.0.0',
  inputs: { pred: { type: 'TENSOR' }, target: { type: 'TENSOR' } },
  outputs: { loss: { type: 'NUMBER' }, grad: { type: 'TENSOR' } },
  params: { type: 'object', properties: { delta: { type: 'number', exclusiveMinimum: 0, default: 1 } }, additionalProperties: false },
  async execute(ctx) {
    const kernels = ctx.get(HUBER_KERNELS);
    const { loss, grad } = await kernels.evaluate(asTensor(ctx.inputs.pred, 'pred'), asTensor(ctx.inputs.target, 'target'), ctx.params.delta);
    return { loss, grad };
  },
});

/** TENSOR ports carry `unknown`: check the documented convention ({ shape, data }) before use. */
function asTensor(value: unknown, port: string): { shape: readonly number[]; data: ArrayLike<number> } {
  const v = value as { shape?: unknown; data?: unknown } | null;
  const ok = !!v && typeof v === 'object' && Array.isArray(v.shape) && v.shape.every((d) => Number.isInteger(d) && d > 0) && (ArrayBuffer.isView(v.data) || Array.isArray(v.data));
  if (!ok) throw new TypeError(`huber/HuberLoss: input ${port} is not a TENSOR { shape, data }`);
  return v as { shape: readonly number[]; data: ArrayLike<number> };
}
