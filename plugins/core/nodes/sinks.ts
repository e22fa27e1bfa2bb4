import { defineNode } from 'tessera';
import pngjs from 'pngjs';
import { graphPngText, withPngText } from 'tessera/image';
import { formatFilename } from './filenamePattern.ts';

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
  description:
    'Writes each IMAGE it gets (one, or every value of a stream) as PNG into the run directory (atomically), shows it as the node preview and outputs the file path. Name files of a stream with a counter: images/out_%05d.png or frame_{index}.png.',
  version: '1.1.0',
  // A stream input (a single image arrives as a stream of one): the node numbers the values itself.
  inputs: { image: { type: 'IMAGE', stream: true } },
  outputs: { path: { type: 'STRING' } },
  params: {
    type: 'object',
    properties: {
      filename: {
        type: 'string',
        default: 'image.png',
        pattern: '^[^\\\\]+\\.png$',
        description: 'File name in the run directory. %d, %05d (zero-padded) or {index} is replaced by the value\'s index (0, 1, …); without one, values after the first get _1, _2 … before .png.',
      },
    },
    additionalProperties: false,
  },
  output: true,
  cache: 'never',
  async *execute({ inputs, params, artifacts, progress, graph, signal }) {
    // The graph as run rides along in a tEXt chunk: dropping the PNG on the editor reopens it.
    const text = graphPngText(graph);
    let index = 0;
    for await (const img of inputs.image) {
      signal.throwIfAborted();
      const name = formatFilename(params.filename, index);
      if (!img || !(img.width > 0 && img.height > 0) || img.data.length !== img.width * img.height * img.channels) {
        throw new RangeError(`core/SaveImage: value ${index} (${name}) is not a valid image (${img ? `${img.width}×${img.height}×${img.channels}, ${img.data.length} bytes` : 'nothing'})`);
      }
      const png = new pngjs.PNG({ width: img.width, height: img.height });
      for (let i = 0, n = img.width * img.height; i < n; i++) {
        for (let c = 0; c < 3; c++) png.data[i * 4 + c] = img.data[i * img.channels + (img.channels === 1 ? 0 : c)]!;
        png.data[i * 4 + 3] = img.channels === 4 ? img.data[i * 4 + 3]! : 255;
      }
      progress(index + 1, undefined, name, img);
      const bytes = pngjs.PNG.sync.write(png);
      yield { path: await artifacts.write(name, text ? withPngText(bytes, text) : bytes) };
      index++;
    }
    if (index === 0) throw new RangeError('core/SaveImage: the image stream ended without a value; nothing was written');
  },
});
