import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineNode, type ImageValue, Rng } from 'tessera';
import { identityFromId, type AttentionMaps, renderTarget, type SemAlignSample } from 'tessera/semalign';
import { decodePng } from 'tessera/image';
import { attentionFromCorrespondence, evaluateSample, type SampleMetrics } from './evaluate.ts';
import { aggregateByK, kTable, plotSvg, SAMPLE_COLUMNS, sampleTable, subjectTable, toCsv } from './report.ts';
import { type Arm, compareArms, comparisonMarkdown, scoresOf } from './compare.ts';
import { baselineArms, chanceArms, evaluateBaselines } from './modelFreeArms.ts';

/** Which generated images to score, from the node's inputs and params. */
async function generatedImages(samples: readonly SemAlignSample[], given: ImageValue[] | undefined, dir: string, resolveDir: (dir: string, access: 'read') => Promise<string>): Promise<{ images: ImageValue[]; source: string }> {
  if (given) {
    if (given.length !== samples.length) throw new RangeError(`metrics: ${given.length} generated images for ${samples.length} samples (input generated must align with samples)`);
    return { images: given, source: 'input' };
  }
  if (dir) {
    const root = await resolveDir(dir, 'read');
    const images = await Promise.all(
      samples.map(async (s) => {
        const file = join(root, `${s.annotation.id}.png`);
        let bytes: Uint8Array;
        try {
          bytes = await readFile(file);
        } catch (e) {
          throw new Error(`metrics: generated image ${file} for sample ${s.annotation.id} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
        return decodePng(bytes, file, 3);
      }),
    );
    return { images, source: root };
  }
  return { images: samples.map((s) => s.target), source: 'ground-truth' };
}

const PLOTTED = [...SAMPLE_COLUMNS] as string[];

/** Ground-truth metrics of generated images against SemAlign-Synth annotations. */
export const SemAlignMetrics = defineNode({
  type: 'metrics/SemAlignMetrics',
  title: 'SemAlign ground-truth metrics',
  category: 'metrics',
  description:
    'Identity fidelity (masked PSNR, descriptor cosine), identity retrieval + confusion, color/texture leakage, background and whole-image error, PCK@r of attention maps; per-sample and per-K tables written as CSV/JSON with one SVG plot per metric against K (formulas: docs/metrics.md).',
  version: '1.0.0',
  output: true,
  inputs: {
    samples: { type: 'SEMALIGN_SAMPLES' },
    generated: { type: 'IMAGE_BATCH', optional: true, description: 'One image per sample, same order; else params.generatedDir; else the ground truth is scored.' },
    attention: { type: 'ATTENTION_BATCH', optional: true, description: 'Attention maps per sample for PCK (of the generations).' },
    teacherAttention: { type: 'ATTENTION_BATCH', optional: true, description: 'Teacher-forced attention maps per sample (ground truth noised to a small t), scored apart as tf:pck@r.' },
  },
  outputs: {
    perSample: { type: 'JSON', description: 'SampleMetrics[] (with per-subject rows and confusion).' },
    perK: { type: 'JSON', description: 'Aggregates per K with the measured retrieval chance and summed confusion.' },
    comparison: { type: 'JSON', description: 'Per K: the scored images, the model-free baselines and chance levels as rows, with paired bootstrap CIs of each mean and of each row − scored (null when baselines is off).' },
    files: { type: 'JSON', description: 'Written files, relative to the run directory.' },
  },
  params: {
    type: 'object',
    properties: {
      generatedDir: { type: 'string', default: '', 'x-path': 'read', description: 'Folder of generated PNGs named <sample id>.png, inside the workspace.' },
      pckRadii: { type: 'array', items: { type: 'number', minimum: 0 }, default: [0, 1, 2], description: 'PCK radii in target patches.' },
      outDir: { type: 'string', default: 'metrics', description: 'Output folder inside the run directory.' },
      plots: { type: 'boolean', default: true },
      baselines: { type: 'boolean', default: true, description: 'Also score the model-free baselines (upright paste, mean-colour fill, pose-oracle paste) and the chance levels on the same samples, with paired bootstrap CIs.' },
      resamples: { type: 'integer', default: 2000, minimum: 100, maximum: 100000, description: 'Bootstrap resamples (clusters = samples).' },
      bootstrapSeed: { type: 'integer', default: 0, minimum: 0, maximum: 0xffffffff },
    },
  },
  async execute(ctx) {
    const samples = ctx.inputs.samples;
    if (samples.length === 0) throw new Error('metrics: no samples to score (input samples is empty)');
    const { images, source } = await generatedImages(samples, ctx.inputs.generated, ctx.params.generatedDir, (d, a) => ctx.resolvePath(d, a));
    if (source === 'ground-truth') ctx.log.warn('metrics: no generated images given; scoring the ground truth itself (a sanity baseline)');
    const attention = ctx.inputs.attention;
    if (attention && attention.length !== samples.length) throw new RangeError(`metrics: ${attention.length} attention maps for ${samples.length} samples`);
    const teacher = ctx.inputs.teacherAttention;
    if (teacher && teacher.length !== samples.length) throw new RangeError(`metrics: ${teacher.length} teacher-forced attention maps for ${samples.length} samples`);
    const radii = (ctx.params.pckRadii as number[]).map(Number);
    const perSample: SampleMetrics[] = [];
    for (let i = 0; i < samples.length; i++) {
      ctx.signal.throwIfAborted();
      perSample.push(evaluateSample(samples[i]!, images[i]!, { attention: attention?.[i], teacherAttention: teacher?.[i], pckRadii: radii }));
      ctx.progress(i + 1, samples.length);
      if (i % 32 === 31) await new Promise((r) => setImmediate(r));
    }
    const perK = aggregateByK(perSample);
    const out = ctx.params.outDir;
    const files: string[] = [];
    const save = async (name: string, data: string) => {
      await ctx.artifacts.write(`${out}/${name}`, data);
      files.push(`${out}/${name}`);
    };
    const st = sampleTable(perSample);
    const sub = subjectTable(perSample);
    const kt = kTable(perK);
    await save('per_sample.csv', toCsv(st.header, st.rows));
    await save('per_subject.csv', toCsv(sub.header, sub.rows));
    await save('per_k.csv', toCsv(kt.header, kt.rows));
    let comparison = null;
    let baselines: Record<string, SampleMetrics[]> | undefined;
    if (ctx.params.baselines) {
      ctx.signal.throwIfAborted();
      const scored = evaluateBaselines(samples, radii);
      baselines = Object.fromEntries(scored);
      const scoredArm: Arm = { name: 'scored', label: source === 'ground-truth' ? 'ground truth' : 'scored images', seeds: [new Map(perSample.map((m) => [m.id, scoresOf(m)]))] };
      const arms = [scoredArm, ...baselineArms(scored), ...chanceArms(samples, perSample, radii)];
      const boot = { reference: 'scored', resamples: ctx.params.resamples, seed: ctx.params.bootstrapSeed, level: 0.95 };
      comparison = { ...boot, perK: compareArms(arms, new Map(perSample.map((m) => [m.id, m.k])), boot) };
      await save('comparison.md', comparisonMarkdown(comparison.perK, boot));
    }
    await save('metrics.json', JSON.stringify({ source, samples: perSample.length, perK, perSample, ...(baselines ? { baselines, comparison } : {}) }, null, 1) + '\n');
    if (ctx.params.plots) {
      const metrics = [...PLOTTED, ...new Set(perSample.flatMap((r) => Object.keys(r.pck)))];
      for (const m of metrics) {
        const points = perK.map((r) => ({ k: r.k, value: r.means[m] ?? null }));
        if (points.every((p) => p.value === null)) continue;
        const ref = m === 'retrievalAcc' ? { label: 'chance E[1/|C|]', points: perK.map((r) => ({ k: r.k, value: r.chance })) } : undefined;
        await save(`plots/${m.replace('@', '_at_')}.svg`, plotSvg(`${m} vs K (${source})`, points, ref));
      }
    }
    return { perSample, perK, comparison, files };
  },
});

/** Attention maps from the ground-truth correspondences, optionally degraded (for PCK sanity). */
export const OracleAttention = defineNode({
  type: 'metrics/OracleAttention',
  title: 'Oracle attention maps',
  category: 'metrics',
  description: 'Reference→target attention built from the exact correspondences: mass 1 − noise on the true patch; a share of rows re-pointed at random patches.',
  version: '1.0.0',
  inputs: { samples: { type: 'SEMALIGN_SAMPLES' } },
  outputs: { attention: { type: 'ATTENTION_BATCH' } },
  params: {
    type: 'object',
    properties: {
      noise: { type: 'number', default: 0, minimum: 0, maximum: 1 },
      shuffle: { type: 'number', default: 0, minimum: 0, maximum: 1, description: 'Share of rows whose peak moves to a random target patch.' },
      seed: { type: 'integer', default: 0, minimum: 0 },
    },
  },
  execute(ctx) {
    const rng = new Rng(ctx.params.seed);
    const attention: AttentionMaps[] = ctx.inputs.samples.map((s) => attentionFromCorrespondence(s, { noise: ctx.params.noise, shuffle: ctx.params.shuffle, rng: () => rng.float() }));
    return { attention };
  },
});

/** Controlled "generations" for metric sanity checks. */
export const Counterfactual = defineNode({
  type: 'metrics/Counterfactual',
  title: 'Counterfactual generations',
  category: 'metrics',
  description: 'Stand-in generated images: ground truth, uniform noise, first two subjects swapped, or the DIP loser.',
  version: '1.0.0',
  inputs: { samples: { type: 'SEMALIGN_SAMPLES' } },
  outputs: { images: { type: 'IMAGE_BATCH' } },
  params: {
    type: 'object',
    properties: {
      mode: { type: 'string', enum: ['ground-truth', 'noise', 'swap', 'dip-loser'], default: 'ground-truth' },
      seed: { type: 'integer', default: 0, minimum: 0 },
    },
  },
  execute(ctx) {
    const rng = new Rng(ctx.params.seed);
    const images = ctx.inputs.samples.map((s) => counterfactual(s, ctx.params.mode, rng));
    return { images };
  },
});

/** One counterfactual image (see {@link Counterfactual}). */
export function counterfactual(s: SemAlignSample, mode: string, rng: Rng): ImageValue {
  const a = s.annotation;
  switch (mode) {
    case 'ground-truth':
      return s.target;
    case 'noise':
      return { ...s.target, data: s.target.data.map(() => rng.int(256)) };
    case 'swap':
      if (a.k < 2) return s.target;
      return renderTarget(a, new Map([[0, identityFromId(a.subjects[1]!.identity)], [1, identityFromId(a.subjects[0]!.identity)]]));
    case 'dip-loser':
      if (!s.loser) throw new Error(`metrics/Counterfactual: sample ${a.id} has no DIP loser`);
      return s.loser;
    default:
      throw new RangeError(`metrics/Counterfactual: unknown mode ${mode}`);
  }
}
