import { defineNode } from 'tessera';

export const PrintNode = defineNode({
  type: 'core/Print',
  title: 'Print',
  category: 'core/output',
  description: 'Logs its input (each value, when fed a stream) with an optional label.',
  version: '1.0.0',
  inputs: { value: { type: 'ANY' } },
  outputs: { text: { type: 'STRING' } },
  params: { type: 'object', properties: { label: { type: 'string', default: '' } }, additionalProperties: false },
  output: true,
  cache: 'never',
  execute: ({ inputs, params, log }) => {
    const text = (params.label ? params.label + ': ' : '') + (typeof inputs.value === 'string' ? inputs.value : JSON.stringify(inputs.value));
    log.info(text);
    return { text };
  },
});

export const SaveJsonNode = defineNode({
  type: 'core/SaveJSON',
  title: 'Save JSON',
  category: 'core/output',
  description: 'Writes its input as JSON into the run directory (atomically) and outputs the file path.',
  version: '1.0.0',
  inputs: { value: { type: 'ANY' } },
  outputs: { path: { type: 'STRING' } },
  params: { type: 'object', properties: { filename: { type: 'string', default: 'output.json', pattern: '^[^\\\\]+\\.json$' } }, additionalProperties: false },
  output: true,
  cache: 'never',
  async execute({ inputs, params, artifacts }) {
    return { path: await artifacts.writeJson(params.filename, inputs.value) };
  },
});
