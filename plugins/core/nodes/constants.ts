import { defineNode } from 'tessera';

/** Constant nodes: the graph's literals, editable as widgets. */
export const NumberNode = defineNode({
  type: 'core/Number',
  title: 'Number',
  category: 'core/constants',
  description: 'A constant number.',
  version: '1.0.0',
  inputs: {},
  outputs: { value: { type: 'NUMBER' } },
  params: { type: 'object', properties: { value: { type: 'number', default: 0 } }, additionalProperties: false },
  execute: ({ params }) => ({ value: params.value }),
});

export const StringNode = defineNode({
  type: 'core/String',
  title: 'String',
  category: 'core/constants',
  description: 'A constant string.',
  version: '1.0.0',
  inputs: {},
  outputs: { value: { type: 'STRING' } },
  params: { type: 'object', properties: { value: { type: 'string', default: '' } }, additionalProperties: false },
  execute: ({ params }) => ({ value: params.value }),
});

export const BooleanNode = defineNode({
  type: 'core/Boolean',
  title: 'Boolean',
  category: 'core/constants',
  description: 'A constant boolean.',
  version: '1.0.0',
  inputs: {},
  outputs: { value: { type: 'BOOLEAN' } },
  params: { type: 'object', properties: { value: { type: 'boolean', default: false } }, additionalProperties: false },
  execute: ({ params }) => ({ value: params.value }),
});

export const JsonNode = defineNode({
  type: 'core/JSON',
  title: 'JSON',
  category: 'core/constants',
  description: 'A constant JSON value (object, array, number, string …).',
  version: '1.0.0',
  inputs: {},
  outputs: { value: { type: 'JSON' } },
  params: { type: 'object', properties: { value: { default: null } }, additionalProperties: false },
  execute: ({ params }) => ({ value: structuredClone(params.value) }),
});

export const SeedNode = defineNode({
  type: 'core/Seed',
  title: 'Seed',
  category: 'core/constants',
  description: "A seed for downstream nodes: the run's seed for this node, or a fixed value when `value` is set.",
  version: '1.0.0',
  inputs: {},
  outputs: { seed: { type: 'INT' } },
  params: { type: 'object', properties: { value: { type: 'integer', minimum: 0, maximum: 4294967295, 'x-widget': 'seed' } }, additionalProperties: false },
  execute: ({ params, rng }) => ({ seed: typeof params.value === 'number' ? params.value : rng.uint32() }),
});

export const RandomNode = defineNode({
  type: 'core/Random',
  title: 'Random number',
  category: 'core/constants',
  description: 'A uniform random number in [min, max), from the run seed (same seed → same number).',
  version: '1.0.0',
  inputs: {},
  outputs: { value: { type: 'NUMBER' } },
  params: { type: 'object', properties: { min: { type: 'number', default: 0 }, max: { type: 'number', default: 1 } }, additionalProperties: false },
  execute: ({ params, rng }) => ({ value: params.min + (params.max - params.min) * rng.float() }),
});
