import { defineNode, type ImageValue } from 'tessera';
import { blit, canvas, encodePng, graphPngText } from 'tessera/image';
import { generationItems } from '../generationItems.ts';
import { itemFileNames } from '../itemFileNames.ts';
import { ImportedModel } from '../ImportedModel.ts';
import { sampleImported } from '../sampleImported.ts';
import { sampleSheet } from '../sampleSheet.ts';
import type { SemAlignSample } from 'tessera/semalign';

/** The MODEL input as an imported model, or a TypeError saying what arrived instead. */
function asImported(m: unknown): ImportedModel {
  if (m instanceof ImportedModel) return m;
  const kind = (m as { kind?: unknown } | null)?.kind;
  const what = typeof (m as { describe?: unknown } | null)?.describe === 'function' ? (m as { describe(): string }).describe() : typeof kind === 'string' ? `a '${kind}' model` : typeof m;
  throw new TypeError(`model/Sample: the model input must come from model/ImportOnnx (then model/LoRA or train/Train); got ${what}. MOSAIC models generate with mosaic/Sample`);
}

/** `im` blown up by whole pixels to `target`'s size when it divides it evenly (for metrics that compare at the target's size); else `im`. */
function atSizeOf(im: ImageValue, target: ImageValue | undefined): ImageValue {
  if (!target || target.width % im.width || target.width / im.width !== target.height / im.height || target.height % im.height) return im;
  const out = canvas(target.width, target.height);
  blit(out, im, 0, 0, target.width / im.width);
  return out;
}

/** Generates images from an imported flow model (the export's weights, or a training run's with its LoRA adapters). */
export const Sample = defineNode({
  type: 'model/Sample',
  title: 'Generate (imported model)',
  category: 'model',
  description:
    'Generates images with an imported flow model: integrates its velocity from noise (t = 1) to t = 0, with the convention it trains with (x_t = (1 − t)·x0 + t·ε, v = ε − x0). The condition input gets each sample\'s references as in training (or zeros). Deterministic per (seed, sample id), whatever the batching. Writes <outDir>/<id>.png and a contact sheet (references | generated | target). See docs/import.md.',
  version: '1.0.0',
  output: true,
  // Writes this run's PNGs; a cached result would point at another run's files.
  cache: 'never',
  inputs: {
    model: { type: 'MODEL', description: 'From model/ImportOnnx, model/LoRA or train/Train (the trained weights).' },
    data: { type: 'SEMALIGN_SAMPLES|DATASET', optional: true, description: 'What to generate for: SemAlign samples (their references are the condition; e.g. test samples), or images (unconditional: they name the items and sit next to them on the sheet). Without data, count unconditional images.' },
  },
  outputs: {
    images: { type: 'IMAGE_BATCH', description: 'One generated image per item, at the model\'s input size.' },
    upscaled: { type: 'IMAGE_BATCH', description: 'Each generation blown up by whole pixels to its sample\'s target size (for metrics/SemAlignMetrics); the generation itself when the sizes do not divide.' },
    samples: { type: 'SEMALIGN_SAMPLES', description: 'The samples generated for (the first count), aligned with images; empty for image data.' },
    sheet: { type: 'IMAGE', description: 'Contact sheet: references | generated | target.' },
    files: { type: 'JSON', description: 'Written files, relative to the run directory.' },
  },
  params: {
    type: 'object',
    properties: {
      steps: { type: 'integer', default: 20, minimum: 1, maximum: 1000, description: 'Uniform ODE steps from noise (t = 1) to the image (t = 0).' },
      solver: { type: 'string', enum: ['euler', 'heun'], default: 'euler', description: "euler: one network evaluation per step; heun: Heun's second-order method, two per step (one on the last)." },
      seed: { type: 'integer', default: 0, minimum: 0, maximum: 0xffffffff, description: 'Noise seed (an image\'s noise depends on the seed and its sample id only).' },
      count: { type: 'integer', default: 0, minimum: 0, maximum: 100000, description: 'Images to generate: the first count data items (0 = all); without data, count unconditional images.' },
      batchSize: { type: 'integer', default: 8, minimum: 1, maximum: 1024, description: 'Most images per forward pass.' },
      sheetRows: { type: 'integer', default: 8, minimum: 0, maximum: 256, description: 'Items on the contact sheet (0: no sheet).' },
      sheetScale: { type: 'integer', default: 2, minimum: 1, maximum: 16, description: 'Contact sheet upscale factor (of the target size).' },
      outDir: { type: 'string', default: 'generated', maxLength: 512, description: 'Output folder inside the run directory ("" = its root).' },
      write: { type: 'boolean', default: true, description: 'Write <outDir>/<id>.png and <outDir>/sheet.png.' },
    },
    additionalProperties: false,
  },
  async execute(ctx) {
    const p = ctx.params;
    const model = asImported(ctx.inputs.model);
    const plan = generationItems(model, ctx.inputs.data, p.count);
    ctx.log.info(`generating ${plan.items.length} image${plan.items.length === 1 ? '' : 's'} with the ${model.describe()}`);
    const { images } = await sampleImported(model, plan.items, {
      steps: p.steps,
      solver: p.solver as 'euler' | 'heun',
      seed: p.seed,
      batchSize: p.batchSize,
      signal: ctx.signal,
      onStep: (done, total) => ctx.progress(done, total, `step ${done}/${total}`),
    });
    const shown = Math.min(p.sheetRows, images.length);
    const sheet = shown > 0 ? sampleSheet(plan.items.slice(0, shown).map((it, i) => ({ refs: it.refs ?? [], generated: images[i]!, target: plan.targets[i] })), p.sheetScale) : images[0]!;
    const files: string[] = [];
    if (p.write) {
      // Each PNG carries the graph that made it: dropped on the editor's canvas, it reopens it.
      const embedded = graphPngText(ctx.graph);
      const at = (name: string) => (p.outDir ? `${p.outDir}/${name}` : name);
      // Distinct names even when ids sanitize alike or one is "sheet": no file overwrites another.
      const names = itemFileNames(plan.items.map((it) => it.id), '.png', ['sheet']);
      for (let i = 0; i < images.length; i++) {
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
    ctx.progress(1, 1, `${images.length} images`, sheet);
    return { images, upscaled: images.map((im, i) => atSizeOf(im, plan.targets[i])), samples: plan.samples as SemAlignSample[], sheet, files };
  },
});
