import { defineNode } from 'tessera';

export const RangeNode = defineNode({
  type: 'core/Range',
  title: 'Range',
  category: 'core/lists',
  description: 'The list start, start + step, … below stop.',
  version: '1.0.0',
  inputs: {},
  outputs: { list: { type: 'JSON' } },
  params: {
    type: 'object',
    properties: { start: { type: 'number', default: 0 }, stop: { type: 'number', default: 10 }, step: { type: 'number', default: 1, not: { const: 0 } } },
    additionalProperties: false,
  },
  execute: ({ params }) => {
    const list: number[] = [];
    const count = Math.max(0, Math.ceil((params.stop - params.start) / params.step));
    if (count > 10_000_000) throw new Error(`range of ${count} values is too long`);
    for (let i = 0; i < count; i++) list.push(params.start + i * params.step);
    return { list };
  },
});

export const ListMapNode = defineNode({
  type: 'core/ListMap',
  title: 'Map list',
  category: 'core/lists',
  description: 'Applies an arithmetic operation with a constant to every number of a list.',
  version: '1.0.0',
  inputs: { list: { type: 'JSON' } },
  outputs: { list: { type: 'JSON' } },
  params: {
    type: 'object',
    properties: { op: { enum: ['add', 'multiply', 'power', 'negate', 'abs'], default: 'multiply' }, operand: { type: 'number', default: 1 } },
    additionalProperties: false,
  },
  execute: ({ inputs, params }) => {
    const list = asNumberList(inputs.list);
    const k = params.operand;
    const f = { add: (x: number) => x + k, multiply: (x: number) => x * k, power: (x: number) => x ** k, negate: (x: number) => -x, abs: Math.abs }[params.op];
    return { list: list.map(f) };
  },
});

export const ListStatsNode = defineNode({
  type: 'core/ListStats',
  title: 'List statistics',
  category: 'core/lists',
  description: 'Length, sum, mean, min and max of a list of numbers.',
  version: '1.0.0',
  inputs: { list: { type: 'JSON' } },
  outputs: { stats: { type: 'JSON' }, mean: { type: 'NUMBER' } },
  execute: ({ inputs }) => {
    const list = asNumberList(inputs.list);
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    // A loop, not Math.min(...list): spreading 200k arguments overflows the stack.
    for (const v of list) {
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const mean = list.length ? sum / list.length : NaN;
    return { stats: { length: list.length, sum, mean, min, max }, mean };
  },
});

export const ListIndexNode = defineNode({
  type: 'core/ListIndex',
  title: 'List item',
  category: 'core/lists',
  description: 'The item at `index` (negative counts from the end).',
  version: '1.0.0',
  inputs: { list: { type: 'JSON' } },
  outputs: { item: { type: 'ANY' } },
  params: { type: 'object', properties: { index: { type: 'integer', default: 0 } }, additionalProperties: false },
  execute: ({ inputs, params }) => {
    if (!Array.isArray(inputs.list)) throw new Error(`expected a list, got ${typeof inputs.list}`);
    const i = params.index < 0 ? inputs.list.length + params.index : params.index;
    if (i < 0 || i >= inputs.list.length) throw new Error(`index ${params.index} is outside a list of ${inputs.list.length}`);
    return { item: inputs.list[i] };
  },
});

function asNumberList(value: unknown): number[] {
  if (!Array.isArray(value)) throw new Error(`expected a list of numbers, got ${value === null ? 'null' : typeof value}`);
  value.forEach((v, i) => {
    if (typeof v !== 'number') throw new Error(`item ${i} is ${typeof v}, not a number`);
  });
  return value as number[];
}
