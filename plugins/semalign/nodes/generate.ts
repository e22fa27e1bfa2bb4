import { defineNode } from 'tessera';
import { writeManifest, buildManifest, writeSample, type ManifestEntry } from '../dataset.ts';
import { generateToDisk, requestsFor } from '../generate.ts';
import { DEFAULT_CONFIG, type DipMode, type GeneratorConfig, generateSample, type SemAlignSample, validateConfig } from '../sample.ts';
import '../ports.ts';

const int = (def: number, minimum: number, maximum: number, description: string) => ({ type: 'integer', default: def, minimum, maximum, description }) as const;

/** Generates a SemAlign-Synth dataset: to disk (PNG + JSON + manifest) and/or in memory. */
export const Generate = defineNode({
  type: 'semalign/Generate',
  title: 'SemAlign-Synth: generate',
  category: 'semalign',
  description:
    'Procedural multi-subject samples: K references on white, a target with K posed subjects, label map, exact dense patch correspondences and a DIP preference pair. Deterministic by seed.',
  version: '1.0.0',
  output: true,
  inputs: {},
  outputs: {
    samples: { type: 'SEMALIGN_SAMPLES', description: 'The samples in memory (empty when inMemory is false).' },
    manifest: { type: 'JSON', description: 'The manifest (written as manifest.json when write is true; without files when it is false).' },
    dir: { type: 'STRING', description: 'Absolute dataset directory ("" when write is false).' },
  },
  params: {
    type: 'object',
    properties: {
      seed: int(0, 0, 0xffffffff, 'Dataset seed: same seed and settings → byte-identical files.'),
      train: int(64, 0, 100_000_000, 'Samples in the train split (identities 0 … 13,999,999).'),
      val: int(16, 0, 100_000_000, 'Samples in the val split (identities 14,000,000 … 14,999,999).'),
      test: int(16, 0, 100_000_000, 'Samples in the test split (identities 15,000,000 … 16,777,215).'),
      kMin: int(DEFAULT_CONFIG.kMin, 1, 8, 'Fewest subjects per sample.'),
      kMax: int(DEFAULT_CONFIG.kMax, 1, 8, 'Most subjects per sample (K is uniform in [kMin, kMax]).'),
      targetSize: int(DEFAULT_CONFIG.targetSize, 16, 1024, 'Target side in pixels.'),
      refSize: int(DEFAULT_CONFIG.refSize, 8, 1024, 'Reference side in pixels.'),
      patchSize: int(DEFAULT_CONFIG.patchSize, 1, 256, 'Target patch side in pixels (must divide targetSize).'),
      refPatchSize: int(DEFAULT_CONFIG.refPatchSize, 1, 256, 'Reference patch side in pixels (must divide refSize).'),
      refScale: { type: 'number', default: DEFAULT_CONFIG.refScale, exclusiveMinimum: 0, maximum: 1, description: 'Share of the reference width the subject fills (MOSAIC: 0.9).' },
      maxRotationDeg: { type: 'number', default: DEFAULT_CONFIG.maxRotationDeg, minimum: 0, maximum: 180, description: 'Largest |rotation| of a subject in the target.' },
      flipProb: { type: 'number', default: DEFAULT_CONFIG.flipProb, minimum: 0, maximum: 1, description: 'Probability a subject is mirrored in the target.' },
      dip: { type: 'string', enum: ['none', 'swap', 'attribute', 'mixed'], default: DEFAULT_CONFIG.dip, description: 'DIP losers: identity swap, attribute (color/texture) leakage, or a mix.' },
      overlap: { type: 'number', default: 0, minimum: 0, maximum: 1, description: 'Overlapping subjects: each box grows by up to 1 + overlap about its centre, a random occlusion order decides who is in front. 0: disjoint boxes (the original task).' },
      layoutDropout: { type: 'number', default: 0, minimum: 0, maximum: 1, description: "Probability that a subject's layout (box and pose) is withheld from the condition; deterministic per seed. 0: every layout given." },
      write: { type: 'boolean', default: true, description: 'Write PNG/JSON files and manifest.json under outDir.' },
      outDir: { type: 'string', default: 'semalign', description: 'Dataset folder inside the run directory.' },
      inMemory: { type: 'boolean', default: true, description: 'Also return the samples on the `samples` port (turn off for large sets).' },
      workers: int(2, 0, 64, 'Worker threads when writing without keeping samples in memory (0 = this thread).'),
    },
  },
  async execute(ctx) {
    const p = ctx.params;
    const config: GeneratorConfig = {
      seed: p.seed,
      targetSize: p.targetSize,
      refSize: p.refSize,
      refScale: p.refScale,
      patchSize: p.patchSize,
      refPatchSize: p.refPatchSize,
      kMin: p.kMin,
      kMax: p.kMax,
      maxRotationDeg: p.maxRotationDeg,
      flipProb: p.flipProb,
      dip: p.dip as DipMode,
      overlap: p.overlap,
      layoutDropout: p.layoutDropout,
    };
    validateConfig(config);
    const counts = { train: p.train, val: p.val, test: p.test };
    const total = p.train + p.val + p.test;
    const report = (done: number) => {
      if (done === total || done % 16 === 0) ctx.progress(done, total, `generated ${done}/${total}`);
    };
    const root = p.write ? await ctx.artifacts.mkdir(p.outDir) : '';
    if (p.write && !p.inMemory) {
      const manifest = await generateToDisk(root, config, counts, { workers: p.workers, signal: ctx.signal, onProgress: report });
      ctx.log.info('semalign dataset written', { dir: root, samples: manifest.counts.total });
      return { samples: [] as SemAlignSample[], manifest, dir: root };
    }
    const samples: SemAlignSample[] = [];
    const entries: ManifestEntry[] = [];
    for (const req of requestsFor(counts)) {
      ctx.signal.throwIfAborted();
      const s = generateSample(config, req);
      samples.push(s);
      if (p.write) entries.push(writeSample(root, s));
      report(samples.length);
      // Yield now and then so progress events and cancellation get through.
      if (samples.length % 64 === 0) await new Promise((r) => setImmediate(r));
    }
    // In memory only: the manifest still lists every sample, with no files.
    const listed = p.write
      ? entries
      : samples.map((s) => ({ id: s.annotation.id, split: s.annotation.split, index: s.annotation.index, k: s.annotation.k, annotation: '', files: [] }));
    const manifest = buildManifest(config, listed);
    if (p.write) await writeManifest(root, manifest);
    return { samples, manifest, dir: root };
  },
});
