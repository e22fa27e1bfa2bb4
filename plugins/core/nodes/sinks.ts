import { defineNode } from 'tessera';
import pngjs from 'pngjs';
import { graphPngText, withPngText } from 'tessera/image';

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

export const SaveImageNode = defineNode({
  type: 'core/SaveImage',
  title: 'Save image',
  category: 'core/output',
  description: 'Writes an IMAGE as PNG into the run directory (atomically), shows it as the node preview and outputs the file path.',
  version: '1.0.0',
  inputs: { image: { type: 'IMAGE' } },
  outputs: { path: { type: 'STRING' } },
  params: { type: 'object', properties: { filename: { type: 'string', default: 'image.png', pattern: '^[^\\\\]+\\.png$' } }, additionalProperties: false },
  output: true,
  cache: 'never',
  async execute({ inputs, params, artifacts, progress, graph }) {
    const img = inputs.image;
    if (!img || !(img.width > 0 && img.height > 0) || img.data.length !== img.width * img.height * img.channels) {
      throw new RangeError(`core/SaveImage: not a valid image (${img ? `${img.width}×${img.height}×${img.channels}, ${img.data.length} bytes` : 'nothing'})`);
    }
    const png = new pngjs.PNG({ width: img.width, height: img.height });
    for (let i = 0, n = img.width * img.height; i < n; i++) {
      for (let c = 0; c < 3; c++) png.data[i * 4 + c] = img.data[i * img.channels + (img.channels === 1 ? 0 : c)]!;
      png.data[i * 4 + 3] = img.channels === 4 ? img.data[i * 4 + 3]! : 255;
    }
    progress(1, 1, params.filename, img);
    // The graph as run rides along in a tEXt chunk: dropping the PNG on the editor reopens it.
    const bytes = pngjs.PNG.sync.write(png);
    const text = graphPngText(graph);
    return { path: await artifacts.write(params.filename, text ? withPngText(bytes, text) : bytes) };
  },
});
