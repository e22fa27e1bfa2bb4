import { defineNode } from 'tessera';

export const FormatNode = defineNode({
  type: 'core/Format',
  title: 'Format text',
  category: 'core/text',
  description: 'Fills `{name}` placeholders in a template from the `values` object (missing names stay as written).',
  version: '1.0.0',
  inputs: { values: { type: 'JSON|NUMBER|STRING', optional: true } },
  outputs: { text: { type: 'STRING' } },
  params: { type: 'object', properties: { template: { type: 'string', default: '{value}' } }, additionalProperties: false },
  execute: ({ inputs, params }) => {
    const values = inputs.values !== null && typeof inputs.values === 'object' ? (inputs.values as Record<string, unknown>) : { value: inputs.values };
    // Own fields only: `{constructor}` must stay as written, not print an inherited function.
    return { text: params.template.replace(/\{([A-Za-z0-9_.]+)\}/g, (whole, name: string) => (Object.hasOwn(values, name) ? stringify(values[name]) : whole)) };
  },
});

export const JsonGetNode = defineNode({
  type: 'core/JsonGet',
  title: 'Get field',
  category: 'core/json',
  description: 'Reads a field from a JSON value by dotted path (`a.b.0`); fails clearly when it is absent.',
  version: '1.0.0',
  inputs: { value: { type: 'JSON' } },
  outputs: { value: { type: 'ANY' } },
  params: { type: 'object', properties: { path: { type: 'string', default: '' } }, additionalProperties: false },
  execute: ({ inputs, params }) => {
    let current: unknown = inputs.value;
    const walked: string[] = [];
    for (const key of params.path.split('.').filter(Boolean)) {
      // Own fields only: `constructor` or `__proto__` are no fields of a JSON value.
      if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) {
        throw new Error(`no field "${key}" at ${walked.length ? walked.join('.') : 'the top level'} (have: ${current && typeof current === 'object' ? Object.keys(current).join(', ') : typeof current})`);
      }
      current = (current as Record<string, unknown>)[key];
      walked.push(key);
    }
    return { value: current };
  },
});

export const MakeObjectNode = defineNode({
  type: 'core/MakeObject',
  title: 'Make object',
  category: 'core/json',
  description: 'Builds a JSON object from the values wired into `values`, named by the `keys` param in link order.',
  version: '1.0.0',
  inputs: { values: { type: 'ANY', list: true } },
  outputs: { object: { type: 'JSON' } },
  params: { type: 'object', properties: { keys: { type: 'array', items: { type: 'string' }, default: [] } }, additionalProperties: false },
  execute: ({ inputs, params }) => {
    const keys = params.keys as string[];
    if (keys.length !== inputs.values.length) throw new Error(`${inputs.values.length} values wired but ${keys.length} keys given`);
    return { object: Object.fromEntries(keys.map((k, i) => [k, inputs.values[i]])) };
  },
});

function stringify(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
