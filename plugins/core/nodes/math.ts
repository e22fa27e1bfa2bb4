import { defineNode } from 'tessera';

const OPS = {
  add: (a: number, b: number) => a + b,
  subtract: (a: number, b: number) => a - b,
  multiply: (a: number, b: number) => a * b,
  divide: (a: number, b: number) => a / b,
  power: (a: number, b: number) => a ** b,
  min: Math.min,
  max: Math.max,
  modulo: (a: number, b: number) => a % b,
} as const;

export const AddNode = defineNode({
  type: 'core/Add',
  title: 'Add',
  category: 'core/math',
  description: 'a + b',
  version: '1.0.0',
  inputs: { a: { type: 'NUMBER' }, b: { type: 'NUMBER' } },
  outputs: { sum: { type: 'NUMBER' } },
  execute: ({ inputs }) => ({ sum: inputs.a + inputs.b }),
});

export const MathNode = defineNode({
  type: 'core/Math',
  title: 'Math',
  category: 'core/math',
  description: 'A binary arithmetic operation on two numbers; b defaults to the `b` param when not wired.',
  version: '1.0.0',
  inputs: { a: { type: 'NUMBER' }, b: { type: 'NUMBER', optional: true } },
  outputs: { result: { type: 'NUMBER' } },
  params: {
    type: 'object',
    properties: {
      op: { enum: ['add', 'subtract', 'multiply', 'divide', 'power', 'min', 'max', 'modulo'], default: 'add' },
      b: { type: 'number', default: 0 },
    },
    additionalProperties: false,
  },
  execute: ({ inputs, params }) => ({ result: OPS[params.op](inputs.a, inputs.b ?? params.b) }),
});

export const SumNode = defineNode({
  type: 'core/Sum',
  title: 'Sum',
  category: 'core/math',
  description: 'Sum of every number wired into `values` (a list input).',
  version: '1.0.0',
  inputs: { values: { type: 'NUMBER', list: true } },
  outputs: { sum: { type: 'NUMBER' } },
  execute: ({ inputs }) => ({ sum: inputs.values.reduce((s, v) => s + v, 0) }),
});
