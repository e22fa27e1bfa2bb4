/**
 * Test node (not a test file): the samples with the ids given, in order, so a graph can feed a
 * sampler ids that sanitize alike or name the sheet.
 */
import { defineNode, definePlugin } from 'tessera';
import type { SemAlignSample } from '../../plugins/semalign/index.ts';

export const RenameSamples = defineNode({
  type: 'renametest/Rename',
  title: 'rename samples',
  category: 'test',
  description: 'Gives the samples the listed ids.',
  version: '1.0.0',
  inputs: { samples: { type: 'SEMALIGN_SAMPLES' } },
  outputs: { samples: { type: 'SEMALIGN_SAMPLES' } },
  params: { type: 'object', properties: { ids: { type: 'array', items: { type: 'string' }, default: [] } } },
  async execute(ctx) {
    const ids = ctx.params.ids as string[];
    return { samples: (ctx.inputs.samples as SemAlignSample[]).map((s, i) => ({ ...s, annotation: { ...s.annotation, id: ids[i] ?? s.annotation.id } })) };
  },
});

export const renamePlugin = definePlugin({ name: 'renametest', version: '0.0.0', nodes: [RenameSamples] });
