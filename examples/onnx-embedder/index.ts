import { definePlugin } from 'tessera';
import { Embed } from './nodes/Embed.ts';
import { TestPattern } from './nodes/TestPattern.ts';

/** An example of a third-party plugin: it imports only the public API ('tessera', 'tessera/kernels'). */
export default definePlugin({ name: 'tessera-plugin-onnx-embedder', version: '0.1.0', nodes: [Embed, TestPattern] });
