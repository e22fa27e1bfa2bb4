import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { defineNode, type FingerprintPaths, type Logger, Rng } from 'tessera';
import { loadSample, type Manifest, type ManifestEntry, readManifest } from '../dataset.ts';
import type { SemAlignSample } from '../sample.ts';
import '../ports.ts';

const filterParams = {
  dir: { type: 'string', default: '', 'x-path': 'read', description: 'Dataset folder (holding manifest.json) inside the workspace; relative paths resolve from the workspace root.' },
  split: { type: 'string', enum: ['all', 'train', 'val', 'test'], default: 'all' },
  kMin: { type: 'integer', default: 1, minimum: 1, maximum: 8, description: 'Keep samples with K ≥ kMin.' },
  kMax: { type: 'integer', default: 8, minimum: 1, maximum: 8, description: 'Keep samples with K ≤ kMax.' },
  shuffle: { type: 'boolean', default: false },
  seed: { type: 'integer', default: 0, minimum: 0, description: 'Shuffle seed (independent of the run seed, so an order is reproducible).' },
  limit: { type: 'integer', default: 0, minimum: 0, description: 'Stop after this many samples (0 = all).' },
  onError: { type: 'string', enum: ['fail', 'warn'], default: 'fail', description: 'A bad sample fails the node, or is logged (with its file and field) and counted.' },
} as const;

interface FilterParams {
  dir: string;
  split: string;
  kMin: number;
  kMax: number;
  shuffle: boolean;
  seed: number;
  limit: number;
  onError: string;
}

/**
 * Manifest entries after split/K filters, shuffle and limit; logs what the filters dropped.
 * `resolveDir` confines the folder (a node passes `ctx.resolvePath`).
 */
export async function selectEntries(p: FilterParams, log: Logger, resolveDir: (dir: string, access: 'read') => Promise<string>): Promise<{ root: string; manifest: Manifest; entries: ManifestEntry[] }> {
  if (!p.dir) throw new Error('semalign/Load: no dataset folder: set param dir or wire the dir input (a folder holding manifest.json)');
  if (p.kMin > p.kMax) throw new RangeError(`semalign/Load: kMin (${p.kMin}) exceeds kMax (${p.kMax})`);
  const root = await resolveDir(p.dir, 'read');
  const manifest = await readManifest(root);
  let entries = manifest.samples.filter((e) => p.split === 'all' || e.split === p.split);
  const bySplit = entries.length;
  entries = entries.filter((e) => e.k >= p.kMin && e.k <= p.kMax);
  log.info('semalign load: selection', { dir: root, listed: manifest.samples.length, droppedBySplit: manifest.samples.length - bySplit, droppedByK: bySplit - entries.length });
  if (p.shuffle) entries = new Rng(p.seed).shuffle([...entries]);
  if (p.limit > 0) entries = entries.slice(0, p.limit);
  return { root, manifest, entries };
}

async function loadOrReport(root: string, e: ManifestEntry, onError: string, log: Logger, bad: { n: number }): Promise<SemAlignSample | undefined> {
  try {
    return await loadSample(root, e);
  } catch (err) {
    if (onError !== 'warn') throw err;
    bad.n++;
    log.warn('semalign load: sample skipped', { id: e.id, error: (err as Error).message });
    return undefined;
  }
}

const fingerprint = async (params: Record<string, unknown>, { resolvePath }: FingerprintPaths) => {
  // Re-load when the manifest changes (generation rewrites it last). With the folder given on
  // the `dir` input, the upstream value is part of the cache key already.
  if (!params.dir) return 'dir from input';
  const st = await stat(join(await resolvePath(String(params.dir)), 'manifest.json'));
  return `${st.mtimeMs}:${st.size}`;
};

/** Streams a SemAlign-Synth dataset from disk in batches (validated, seeded shuffle, K filter). */
export const Load = defineNode({
  type: 'semalign/Load',
  title: 'SemAlign-Synth: load (stream)',
  category: 'semalign',
  description: 'Streams validated samples from a dataset folder in batches; filters by split and K; seeded shuffle. Bad files fail with file and field (or are logged and counted with onError = warn).',
  version: '1.0.0',
  cache: { fingerprint },
  inputs: { dir: { type: 'STRING', optional: true, description: 'Dataset folder (e.g. semalign/Generate.dir); overrides params.dir.' } },
  outputs: { batch: { type: 'SEMALIGN_SAMPLES', stream: true, description: 'Batches of samples.' } },
  params: { type: 'object', properties: { ...filterParams, batchSize: { type: 'integer', default: 16, minimum: 1, description: 'Samples per emitted batch.' } } },
  async *execute(ctx) {
    const p = { ...ctx.params, dir: ctx.inputs.dir ?? ctx.params.dir };
    const { root, entries } = await selectEntries(p, ctx.log, (d, a) => ctx.resolvePath(d, a));
    const bad = { n: 0 };
    let batch: SemAlignSample[] = [];
    let done = 0;
    for (const e of entries) {
      ctx.signal.throwIfAborted();
      const s = await loadOrReport(root, e, p.onError, ctx.log, bad);
      done++;
      ctx.progress(done, entries.length);
      if (!s) continue;
      batch.push(s);
      if (batch.length === p.batchSize) {
        yield { batch };
        batch = [];
      }
    }
    if (batch.length) yield { batch };
    if (bad.n) ctx.log.warn('semalign load: samples skipped because of errors', { skipped: bad.n, of: entries.length });
  },
});

/** Loads a whole (filtered) SemAlign-Synth dataset into memory. */
export const LoadAll = defineNode({
  type: 'semalign/LoadAll',
  title: 'SemAlign-Synth: load all',
  category: 'semalign',
  description: 'Loads every selected sample (validated) into one SEMALIGN_SAMPLES value, plus the manifest.',
  version: '1.0.0',
  cache: { fingerprint },
  inputs: { dir: { type: 'STRING', optional: true, description: 'Dataset folder (e.g. semalign/Generate.dir); overrides params.dir.' } },
  outputs: { samples: { type: 'SEMALIGN_SAMPLES' }, manifest: { type: 'JSON' } },
  params: { type: 'object', properties: filterParams },
  async execute(ctx) {
    const p = { ...ctx.params, dir: ctx.inputs.dir ?? ctx.params.dir };
    const { root, manifest, entries } = await selectEntries(p, ctx.log, (d, a) => ctx.resolvePath(d, a));
    const bad = { n: 0 };
    const samples: SemAlignSample[] = [];
    for (const e of entries) {
      ctx.signal.throwIfAborted();
      const s = await loadOrReport(root, e, p.onError, ctx.log, bad);
      if (s) samples.push(s);
      ctx.progress(samples.length + bad.n, entries.length);
    }
    if (bad.n) ctx.log.warn('semalign load: samples skipped because of errors', { skipped: bad.n, of: entries.length });
    return { samples, manifest };
  },
});
