import { defineNode } from 'tessera';
import { contactSheet } from '../draw.ts';
import { encodePng } from 'tessera/image';
import '../ports.ts';

/** Contact sheet of samples with correspondence lines; written as PNG. */
export const Preview = defineNode({
  type: 'semalign/Preview',
  title: 'SemAlign-Synth: contact sheet',
  category: 'semalign',
  description: 'One row per sample: references, target (slot-colored boxes) and DIP loser + mask, with lines from reference patches to the target patches that show them.',
  version: '1.0.0',
  output: true,
  inputs: { samples: { type: 'SEMALIGN_SAMPLES' } },
  outputs: { image: { type: 'IMAGE' }, file: { type: 'STRING' } },
  params: {
    type: 'object',
    properties: {
      maxSamples: { type: 'integer', default: 6, minimum: 1, maximum: 64 },
      scale: { type: 'integer', default: 4, minimum: 1, maximum: 16, description: 'Pixel upscale factor.' },
      lines: { type: 'integer', default: 8, minimum: 0, maximum: 256, description: 'Correspondence lines per subject.' },
      dip: { type: 'boolean', default: true, description: 'Show the DIP loser and mask.' },
      file: { type: 'string', default: 'semalign/preview.png', description: 'Output PNG inside the run directory ("" = do not write).' },
    },
  },
  async execute(ctx) {
    const p = ctx.params;
    const picked = ctx.inputs.samples.slice(0, p.maxSamples);
    if (picked.length === 0) throw new Error('semalign/Preview: no samples to draw (input is empty)');
    const image = contactSheet(picked, { scale: p.scale, lines: p.lines, dip: p.dip });
    const file = p.file ? await ctx.artifacts.write(p.file, encodePng(image)) : '';
    ctx.progress(1, 1, 'contact sheet', image);
    return { image, file };
  },
});

/** Splits samples into DIP preference-pair images for a DPO trainer. */
export const DipPairs = defineNode({
  type: 'semalign/DipPairs',
  title: 'SemAlign-Synth: DIP pairs',
  category: 'semalign',
  description: 'Winner (target), loser (one disrupted subject) and binary prior mask (255 = changed pixel) of every sample that has a DIP pair.',
  version: '1.0.0',
  inputs: { samples: { type: 'SEMALIGN_SAMPLES' } },
  outputs: {
    winners: { type: 'IMAGE_BATCH' },
    losers: { type: 'IMAGE_BATCH' },
    masks: { type: 'IMAGE_BATCH' },
    pairs: { type: 'JSON', description: 'Per pair: sample id, DIP kind, slot, changed pixels.' },
  },
  execute(ctx) {
    const withDip = ctx.inputs.samples.filter((s) => s.annotation.dip && s.loser && s.dipMask);
    const skipped = ctx.inputs.samples.length - withDip.length;
    if (skipped) ctx.log.info('semalign/DipPairs: samples without a DIP pair', { skipped });
    return {
      winners: withDip.map((s) => s.target),
      losers: withDip.map((s) => s.loser!),
      masks: withDip.map((s) => s.dipMask!),
      pairs: withDip.map((s) => ({ id: s.annotation.id, ...s.annotation.dip!, loser: undefined, mask: undefined })),
    };
  },
});
