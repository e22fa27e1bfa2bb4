import { defineNode } from 'tessera';
import { encodePng, graphPngText } from 'tessera/image';
import { itemFileNames } from 'tessera/model';
import type { AttentionMaps, SemAlignSample } from 'tessera/semalign';
import { groupByK } from '../model/mosaicBatch.ts';
import { eulerSample } from '../sampling/eulerSample.ts';
import { generationSheet } from '../sampling/generationSheet.ts';
import { asMosaic } from './asMosaic.ts';

/** The MODEL input as a MOSAIC handle, or a clear error naming what arrived instead. */

/** Generates targets for SemAlign samples with a trained MOSAIC model (Euler flow-matching sampler). */
export const Sample = defineNode({
  type: 'mosaic/Sample',
  title: 'MOSAIC: generate',
  category: 'mosaic',
  description:
    'Generates each sample’s target from its references and layout: Euler integration of the flow-matching ODE from noise (t = 1) to t = 0. Deterministic per (seed, sample id), whatever the batching. Optionally outputs the last step’s reference→target attention maps for PCK, writes <outDir>/<sample id>.png and a contact sheet.',
  version: '1.0.0',
  output: true,
  // Writes this run's PNGs; a cached result would point at another run's files.
  cache: 'never',
  inputs: {
    model: { type: 'MODEL', description: 'A trained or loaded MOSAIC model handle.' },
    samples: { type: 'SEMALIGN_SAMPLES' },
  },
  outputs: {
    images: { type: 'IMAGE_BATCH', description: 'One generated image per sample, same order.' },
    attention: { type: 'ATTENTION_BATCH', description: 'Per sample the correspondence map [K·L, N] of the last step (empty when pck is off).' },
    sheet: { type: 'IMAGE', description: 'Contact sheet: references | generation | ground truth | heatmaps.' },
    files: { type: 'JSON', description: 'Written files, relative to the run directory.' },
  },
  params: {
    type: 'object',
    properties: {
      steps: { type: 'integer', default: 20, minimum: 1, maximum: 1000, description: 'ODE steps from noise to image.' },
      solver: { type: 'string', enum: ['euler', 'heun'], default: 'euler', description: "euler: one network evaluation per step; heun: Heun's second-order method, two per step (one on the last)." },
      seed: { type: 'integer', default: 0, minimum: 0, maximum: 0xffffffff, description: 'Noise seed (each sample’s noise depends on the seed and its id only).' },
      batchSize: { type: 'integer', default: 8, minimum: 1, maximum: 1024, description: 'Most samples per forward pass (per K).' },
      pck: { type: 'boolean', default: true, description: 'Also output the attention maps (averaged over the model’s map blocks).' },
      sheetRows: { type: 'integer', default: 8, minimum: 0, maximum: 256, description: 'Samples on the contact sheet (0: no sheet).' },
      sheetScale: { type: 'integer', default: 3, minimum: 1, maximum: 16, description: 'Contact sheet upscale factor.' },
      outDir: { type: 'string', default: 'generated', description: 'Output folder inside the run directory.' },
      write: { type: 'boolean', default: true, description: 'Write <outDir>/<sample id>.png and <outDir>/sheet.png.' },
    },
  },
  async execute(ctx) {
    const p = ctx.params;
    const model = asMosaic(ctx.inputs.model, 'mosaic/Sample');
    const samples = ctx.inputs.samples;
    if (samples.length === 0) throw new Error('mosaic/Sample: no samples to generate (input samples is empty)');
    let last = [0, 1];
    const { images, maps } = await eulerSample(model, samples, {
      steps: p.steps,
      solver: p.solver as 'euler' | 'heun',
      seed: p.seed,
      batchSize: p.batchSize,
      mapBlocks: p.pck ? model.mapBlocks : [],
      signal: ctx.signal,
      onStep: (done, total) => {
        last = [done, total];
        ctx.progress(done, total, `Euler step ${done}/${total}`);
      },
      // Each finished batch previews its first image.
      onBatch: (idx, imgs) => ctx.progress(last[0]!, last[1]!, `generated ${samples[idx[0]!]!.annotation.id}`, imgs[0]),
    });
    const attention: AttentionMaps[] = maps ?? [];
    const rows = sheetRows(samples, p.sheetRows);
    const shown = rows.length;
    const sheet = shown > 0 ? generationSheet(rows.map((i) => samples[i]!), rows.map((i) => images[i]!), { scale: p.sheetScale, maps: maps && rows.map((i) => maps[i]!) }) : images[0]!;
    const files: string[] = [];
    if (p.write) {
      // Each PNG carries the graph that made it: dropped on the editor's canvas, it reopens it.
      const embedded = graphPngText(ctx.graph);
      // outDir "" writes at the run directory's root.
      const at = (name: string) => (p.outDir ? `${p.outDir}/${name}` : name);
      // Distinct, safe names even when ids sanitize alike or one is "sheet": no file overwrites another.
      const names = itemFileNames(samples.map((s) => s.annotation.id), '.png', ['sheet']);
      for (let i = 0; i < samples.length; i++) {
        ctx.signal.throwIfAborted();
        const name = at(names[i]!);
        await ctx.artifacts.write(name, encodePng(images[i]!, embedded));
        files.push(name);
      }
      if (shown > 0) {
        await ctx.artifacts.write(at('sheet.png'), encodePng(sheet, embedded));
        files.push(at('sheet.png'));
      }
    }
    ctx.progress(1, 1, `${samples.length} images`, sheet);
    return { images, attention, sheet, files };
  },
});

/** Up to `n` sample indices spread evenly over the K values present, ordered by K (so a sheet shows every K). */
export function sheetRows(samples: readonly SemAlignSample[], n: number): number[] {
  const queues = [...groupByK(samples).values()];
  const picked: number[] = [];
  for (let round = 0; picked.length < Math.min(n, samples.length); round++) {
    for (const q of queues) if (round < q.length && picked.length < n) picked.push(q[round]!);
  }
  return picked.sort((a, b) => samples[a]!.refs.length - samples[b]!.refs.length || a - b);
}
