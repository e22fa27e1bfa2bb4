import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type ImageValue, writeFileAtomic } from 'tessera';
import type { ManifestEntry } from './files.ts';
import { IDENTITY_SPACE, SPLITS } from './identity.ts';
import { decodePng } from 'tessera/image';
import { relativePose } from './geometry.ts';
import { ANNOTATION_VERSION, type GeneratorConfig, type SemAlignAnnotation, type SemAlignSample, MAX_K } from './sample.ts';
import { assertSchema, checkAnnotation, DatasetError } from './validate.ts';

/** Version written into manifests; bump when the on-disk layout changes. */
export const DATASET_VERSION = '1.0.0';

export { encodeSample, writeSample, type ManifestEntry } from './files.ts';

/** manifest.json (schemas/semalign-manifest.schema.json). */
export interface Manifest {
  readonly format: 'semalign-manifest';
  readonly version: 1;
  readonly generator: { readonly plugin: 'semalign'; readonly version: string };
  readonly config: GeneratorConfig;
  readonly identitySpace: number;
  readonly identitySplits: Record<string, readonly [number, number]>;
  readonly counts: { readonly total: number; readonly bySplit: Record<string, number>; readonly byK: Record<string, number> };
  readonly samples: readonly ManifestEntry[];
}

/** Builds the manifest from entries (sorted by split, then index, so worker order never shows). */
export function buildManifest(config: GeneratorConfig, entries: readonly ManifestEntry[]): Manifest {
  const order: Record<string, number> = { train: 0, val: 1, test: 2 };
  const samples = [...entries].sort((x, y) => order[x.split]! - order[y.split]! || x.index - y.index);
  const bySplit: Record<string, number> = {};
  const byK: Record<string, number> = {};
  for (const e of samples) {
    bySplit[e.split] = (bySplit[e.split] ?? 0) + 1;
    byK[e.k] = (byK[e.k] ?? 0) + 1;
  }
  return {
    format: 'semalign-manifest',
    version: 1,
    generator: { plugin: 'semalign', version: DATASET_VERSION },
    config,
    identitySpace: IDENTITY_SPACE,
    identitySplits: { ...SPLITS },
    counts: { total: samples.length, bySplit, byK },
    samples,
  };
}

/** Writes manifest.json atomically. */
export async function writeManifest(root: string, manifest: Manifest): Promise<string> {
  const path = join(root, 'manifest.json');
  await writeFileAtomic(path, JSON.stringify(manifest, null, 1) + '\n');
  return path;
}

async function readJson(path: string, shown: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new DatasetError(shown, '', `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DatasetError(shown, '', `invalid JSON (${(e as Error).message})`);
  }
}

/**
 * Reads and checks manifest.json: schema, K range, and that the split folders hold exactly the
 * listed files with the listed sizes (a stray or missing file is an error, never ignored).
 */
export async function readManifest(root: string, opts: { checkFiles?: boolean } = {}): Promise<Manifest> {
  const m = (await readJson(join(root, 'manifest.json'), 'manifest.json')) as Manifest;
  assertSchema('semalign-manifest.schema.json', m, 'manifest.json');
  if (m.counts.total !== m.samples.length) {
    throw new DatasetError('manifest.json', 'counts.total', `is ${m.counts.total} but ${m.samples.length} samples are listed`);
  }
  const seen = new Set<string>();
  m.samples.forEach((e, i) => {
    if (seen.has(e.id)) throw new DatasetError('manifest.json', `samples.${i}.id`, `duplicate sample id ${e.id}`);
    seen.add(e.id);
    if (e.k < 1 || e.k > MAX_K) throw new DatasetError('manifest.json', `samples.${i}.k`, `K = ${e.k} is outside 1..${MAX_K}`);
  });
  if (opts.checkFiles !== false) {
    const listed = new Map<string, { bytes: number; field: string }>();
    m.samples.forEach((e, i) => e.files.forEach((f, j) => listed.set(f.path, { bytes: f.bytes, field: `samples.${i}.files.${j}` })));
    const splits = new Set(m.samples.map((e) => e.split));
    for (const split of splits) {
      let names: string[];
      try {
        names = await readdir(join(root, split));
      } catch {
        throw new DatasetError('manifest.json', 'samples', `lists ${split} samples but folder ${split}/ is missing`);
      }
      for (const name of names) {
        if (name.endsWith('.tmp')) continue;
        if (!listed.has(`${split}/${name}`)) throw new DatasetError(`${split}/${name}`, '', 'is not listed in manifest.json');
      }
    }
    await Promise.all(
      [...listed].map(async ([path, { bytes, field }]) => {
        let size: number;
        try {
          size = (await stat(join(root, path))).size;
        } catch {
          throw new DatasetError('manifest.json', field, `lists ${path}, which does not exist`);
        }
        if (size !== bytes) throw new DatasetError(path, '', `has ${size} bytes but manifest.json (${field}.bytes) says ${bytes}`);
      }),
    );
  }
  return m;
}

async function readPng(root: string, file: string, channels: 1 | 3, width: number, height: number, field: string): Promise<ImageValue> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(join(root, file));
  } catch (e) {
    throw new DatasetError(file, '', `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); referenced by ${field}`);
  }
  const img = decodePng(bytes, file, channels);
  if (img.width !== width || img.height !== height) {
    throw new DatasetError(file, '', `is ${img.width}×${img.height}, but ${field} says ${width}×${height}`);
  }
  return img;
}

/** Loads, validates and decodes one sample listed in a manifest. */
export async function loadSample(root: string, entry: ManifestEntry): Promise<SemAlignSample> {
  const file = entry.annotation;
  const a = (await readJson(join(root, file), file)) as SemAlignAnnotation;
  assertSchema('semalign-annotation.schema.json', a, file);
  checkAnnotation(a, file);
  if (a.id !== entry.id) throw new DatasetError(file, 'id', `is ${a.id} but manifest.json lists ${entry.id}`);
  if (a.k !== entry.k) throw new DatasetError(file, 'k', `is ${a.k} but manifest.json lists k = ${entry.k}`);
  const annotation = upgradeAnnotation(a);
  const W = a.target.width;
  const H = a.target.height;
  const target = await readPng(root, a.target.file, 3, W, H, `${file} target`);
  const label = await readPng(root, a.label.file, 1, W, H, `${file} target`);
  for (let p = 0; p < label.data.length; p++) {
    if (label.data[p]! > a.k) throw new DatasetError(a.label.file, '', `pixel ${p % W},${Math.floor(p / W)} has label ${label.data[p]} but k = ${a.k}`);
  }
  const refs = await Promise.all(
    a.subjects.map((s, i) => readPng(root, s.reference.file, 3, s.reference.size, s.reference.size, `${file} subjects.${i}.reference`)),
  );
  let loser: ImageValue | undefined;
  let dipMask: ImageValue | undefined;
  if (a.dip) {
    loser = await readPng(root, a.dip.loser.file, 3, W, H, `${file} dip.loser`);
    dipMask = await readPng(root, a.dip.mask.file, 1, W, H, `${file} dip.mask`);
  }
  return { annotation, target, refs, label, loser, dipMask };
}

/**
 * A version 1 annotation (written before the layout told the pose) as version 2: the relative
 * pose derived from the pose and the reference, depth = slot (version 1 subjects never overlap,
 * so the order is immaterial), no layout dropped. Version 2 passes through unchanged.
 */
export function upgradeAnnotation(a: SemAlignAnnotation | (Omit<SemAlignAnnotation, 'version'> & { version: 1 })): SemAlignAnnotation {
  if (a.version === ANNOTATION_VERSION) return a as SemAlignAnnotation;
  return {
    ...a,
    version: ANNOTATION_VERSION,
    subjects: a.subjects.map((s) => ({
      ...s,
      relativePose: s.relativePose ?? relativePose(s.pose, s.reference.size, s.reference.scale),
      depth: s.depth ?? s.slot,
      layoutDropped: s.layoutDropped ?? false,
    })),
  };
}
