import type { ImageValue } from 'tessera';
import { Prng } from './prng.ts';
import { computeCorrespondence, type Correspondence } from './correspondence.ts';
import { type Affine, type Pose, type RelativePose, referencePose, referenceToTarget, relativePose } from './geometry.ts';
import { hueBinOf, type Identity, identityFromId, type Rgb, SPLITS, type Split } from './identity.ts';
import { type Box, growBoxes, sampleLayout } from './layout.ts';
import { type Background, type Drawn, drawSubjects, poseBounds, renderBackground, renderReference, sampleBackground } from './render.ts';
import { SubjectShader } from './subject.ts';

/** Largest number of subjects per sample (MOSAIC uses at most 6 references; we go to 8). */
export const MAX_K = 8;

/** How DIP losers are made: replace an identity, or leak another subject's color or texture. */
export type DipMode = 'none' | 'swap' | 'attribute' | 'mixed';
/** The disruption actually applied to a loser. */
export type DipKind = 'swap' | 'color' | 'texture';

/** Generator settings; every field is recorded in the manifest. */
export interface GeneratorConfig {
  readonly seed: number;
  readonly targetSize: number;
  readonly refSize: number;
  /** Fraction of the reference width the subject's bounding circle fills (MOSAIC: 0.9). */
  readonly refScale: number;
  readonly patchSize: number;
  readonly refPatchSize: number;
  readonly kMin: number;
  readonly kMax: number;
  readonly maxRotationDeg: number;
  readonly flipProb: number;
  readonly dip: DipMode;
  /**
   * Overlapping subjects: each box grows by a factor in [1, 1 + overlap] about its centre, and
   * a random occlusion order decides who is in front. 0 (default; missing in older manifests):
   * disjoint boxes, today's layouts byte for byte.
   */
  readonly overlap?: number;
  /**
   * Probability that a subject's layout (box and pose) is dropped from the condition: the
   * annotation marks it `layoutDropped` and the prompt omits its placement. Drawn per subject,
   * deterministic per (seed, split, index). 0 (default; missing in older manifests): none.
   */
  readonly layoutDropout?: number;
}

/** Defaults: 64-px targets, 32-px references, 4-px patches (16×16 target grid, 8×8 reference grid). */
export const DEFAULT_CONFIG: GeneratorConfig = {
  seed: 0,
  targetSize: 64,
  refSize: 32,
  refScale: 0.9,
  patchSize: 4,
  refPatchSize: 4,
  kMin: 1,
  kMax: 4,
  maxRotationDeg: 45,
  flipProb: 0.5,
  dip: 'mixed',
  overlap: 0,
  layoutDropout: 0,
};

/** Throws a RangeError naming the offending field. */
export function validateConfig(c: GeneratorConfig): void {
  const int = (name: keyof GeneratorConfig, lo: number, hi: number) => {
    const v = c[name] as number;
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`config.${name} must be an integer in [${lo}, ${hi}], got ${v}`);
  };
  int('seed', 0, 0xffffffff);
  int('targetSize', 16, 1024);
  int('refSize', 8, 1024);
  int('patchSize', 1, 256);
  int('refPatchSize', 1, 256);
  int('kMin', 1, MAX_K);
  int('kMax', 1, MAX_K);
  if (c.kMin > c.kMax) throw new RangeError(`config.kMin (${c.kMin}) must not exceed config.kMax (${c.kMax})`);
  if (c.targetSize % c.patchSize !== 0) throw new RangeError(`config.patchSize ${c.patchSize} must divide config.targetSize ${c.targetSize}`);
  if (c.refSize % c.refPatchSize !== 0) throw new RangeError(`config.refPatchSize ${c.refPatchSize} must divide config.refSize ${c.refSize}`);
  if (!(c.refScale > 0 && c.refScale <= 1)) throw new RangeError(`config.refScale must be in (0, 1], got ${c.refScale}`);
  if (!(c.maxRotationDeg >= 0 && c.maxRotationDeg <= 180)) throw new RangeError(`config.maxRotationDeg must be in [0, 180], got ${c.maxRotationDeg}`);
  if (!(c.flipProb >= 0 && c.flipProb <= 1)) throw new RangeError(`config.flipProb must be in [0, 1], got ${c.flipProb}`);
  if (!['none', 'swap', 'attribute', 'mixed'].includes(c.dip)) throw new RangeError(`config.dip must be none|swap|attribute|mixed, got ${c.dip}`);
  const overlap = c.overlap ?? 0;
  if (typeof overlap !== 'number' || !(overlap >= 0 && overlap <= 1)) throw new RangeError(`config.overlap must be in [0, 1], got ${String(c.overlap)}`);
  const dropout = c.layoutDropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout <= 1)) throw new RangeError(`config.layoutDropout must be in [0, 1], got ${String(c.layoutDropout)}`);
}

/** Annotation format version this generator writes (version 1 files still load; see dataset.ts). */
export const ANNOTATION_VERSION = 2;

/** Per-subject annotation. */
export interface SubjectAnnotation {
  readonly slot: number;
  readonly identity: number;
  readonly reference: { readonly file: string; readonly size: number; readonly scale: number };
  readonly box: Box;
  readonly pose: Pose;
  /** The pose relative to the reference (rotation, mirror, scale): part of the layout condition. */
  readonly relativePose: RelativePose;
  /** Occlusion rank: 0 is in front; a subject hides the parts of higher-depth subjects it covers. */
  readonly depth: number;
  /** Whether this subject's layout (box, pose) is withheld from the condition (layout dropout). */
  readonly layoutDropped: boolean;
  /** Reference pixel → target pixel affine `[a, b, c, d, e, f]` (exact, from the pose). */
  readonly refToTarget: Affine;
  readonly attributes: {
    readonly family: string;
    readonly pattern: string;
    readonly marker: string;
    readonly accessory: string;
    readonly palette: readonly string[];
  };
  /** Pixels the label map gives this subject. */
  readonly pixels: number;
  readonly ownedPatches: number;
  readonly visibleRefPatches: number;
  /** Whether the subject owns at least one target patch. */
  readonly visible: boolean;
}

/** The DIP preference pair of a sample: winner = target, loser = one disrupted subject. */
export interface DipAnnotation {
  readonly kind: DipKind;
  readonly slot: number;
  /** For color/texture leakage: the slot whose attribute leaked in. */
  readonly sourceSlot: number | null;
  /** For swap: the replacing identity. */
  readonly replacementIdentity: number | null;
  readonly loser: { readonly file: string };
  readonly mask: { readonly file: string };
  readonly changedPixels: number;
}

/** One sample's JSON annotation (schemas/semalign-annotation.schema.json). */
export interface SemAlignAnnotation {
  readonly format: 'semalign-annotation';
  /** 2 in memory; version 1 files are upgraded on load (dataset.ts upgradeAnnotation). */
  readonly version: 2;
  readonly id: string;
  readonly split: Split;
  readonly index: number;
  readonly k: number;
  readonly target: { readonly file: string; readonly width: number; readonly height: number };
  readonly label: { readonly file: string; readonly encoding: 'slot+1' };
  readonly background: Background;
  /** The layout as text: the conditioning prompt. */
  readonly prompt: string;
  readonly subjects: readonly SubjectAnnotation[];
  readonly correspondence: Correspondence;
  readonly dip: DipAnnotation | null;
}

/** A sample in memory: annotation plus decoded images (RGB; label and mask single-channel). */
export interface SemAlignSample {
  readonly annotation: SemAlignAnnotation;
  readonly target: ImageValue;
  readonly refs: readonly ImageValue[];
  /** Label map, channels 1, value slot+1 (0 = background). */
  readonly label: ImageValue;
  readonly loser?: ImageValue;
  /** DIP prior mask, channels 1, 255 = changed pixel. */
  readonly dipMask?: ImageValue;
}

/** Sample id from split and index (sortable). */
export function sampleId(split: Split, index: number): string {
  return `${split}-${String(index).padStart(7, '0')}`;
}

/** File names of a sample, relative to the dataset root. */
export function sampleFiles(split: Split, index: number, k: number) {
  const base = `${split}/${sampleId(split, index)}`;
  return {
    annotation: `${base}.json`,
    target: `${base}_target.png`,
    label: `${base}_label.png`,
    refs: Array.from({ length: k }, (_, i) => `${base}_ref${i}.png`),
    loser: `${base}_loser.png`,
    mask: `${base}_dipmask.png`,
  };
}

const hex2 = (v: number) => (v < 16 ? '0' : '') + v.toString(16);
const hex = (c: Rgb) => '#' + hex2(c[0]) + hex2(c[1]) + hex2(c[2]);

function hueDistance(a: number, b: number): number {
  const d = Math.abs(a - b) % 16;
  return Math.min(d, 16 - d);
}

function pickIdentities(rng: Prng, split: Split, k: number, avoidHue: Set<number>, avoidId: Set<number>): number[] {
  const [lo, hi] = SPLITS[split];
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    // Primary hues within a scene: ≥ 2 bins (45°) apart when the draw allows, else at least
    // distinct (16 bins > 8 slots + 1 swap), so subjects stay separable by color.
    let id = lo + rng.int(hi - lo);
    for (let tries = 0; tries < 256; tries++) {
      const h = hueBinOf(id);
      const gap = tries < 64 ? 2 : 1;
      let ok = !avoidId.has(id);
      for (const x of avoidHue) if (hueDistance(x, h) < gap) ok = false;
      if (ok) break;
      id = lo + rng.int(hi - lo);
    }
    avoidHue.add(hueBinOf(id));
    avoidId.add(id);
    out.push(id);
  }
  return out;
}

function where(pose: Pose, size: number): string {
  const col = ['left', 'center', 'right'][Math.min(2, Math.floor((pose.cx / size) * 3))]!;
  const row = ['top', 'middle', 'bottom'][Math.min(2, Math.floor((pose.cy / size) * 3))]!;
  return row === 'middle' && col === 'center' ? 'center' : `${row}-${col}`;
}

function describe(identity: Identity, pose: Pose, size: number, refHalf: number, dropped: boolean): string {
  const what =
    `a ${hex(identity.palette[0])}/${hex(identity.palette[1])} ${identity.pattern} ${identity.family} ` +
    `with a ${identity.marker} marker${identity.accessory === 'none' ? '' : ` and a ${identity.accessory}`}`;
  if (dropped) return what;
  const rot = pose.rotationDeg === 0 ? 'upright' : `rotated ${Math.abs(pose.rotationDeg)}° ${pose.rotationDeg > 0 ? 'clockwise' : 'counter-clockwise'}`;
  return `${what} at the ${where(pose, size)}, ${rot}${pose.flip ? ', mirrored' : ''}, scale ${(pose.half / refHalf).toFixed(2)}`;
}

/** Options for one sample. */
export interface SampleRequest {
  readonly split: Split;
  readonly index: number;
  /** Forces K (else uniform in [kMin, kMax]). */
  readonly k?: number;
}

/**
 * Generates one sample: a pure function of (config, split, index), so any sample can be
 * regenerated alone and workers may split the index range freely.
 */
export function generateSample(config: GeneratorConfig, req: SampleRequest): SemAlignSample {
  const { split, index } = req;
  if (!(split in SPLITS)) throw new RangeError(`split must be one of ${Object.keys(SPLITS).join(', ')}, got ${split}`);
  const rng = Prng.keyed(config.seed, `${split}:${index}`);
  const k = req.k ?? config.kMin + rng.int(config.kMax - config.kMin + 1);
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new RangeError(`k must be an integer in [1, ${MAX_K}], got ${k}`);
  const W = config.targetSize;
  const R = config.refSize;
  const id = sampleId(split, index);
  const files = sampleFiles(split, index, k);

  const hues = new Set<number>();
  const ids = new Set<number>();
  const identities = pickIdentities(rng, split, k, hues, ids).map(identityFromId);
  const disjoint = sampleLayout(rng, { size: W, k, maxRotationDeg: config.maxRotationDeg, flipProb: config.flipProb });
  const background = sampleBackground(rng, W);
  // The options below draw from their own streams, so with both at 0 nothing above or below
  // changes: today's samples byte for byte.
  const overlap = config.overlap ?? 0;
  const overlapRng = overlap > 0 ? Prng.keyed(config.seed, `${split}:${index}:overlap`) : null;
  const layout = overlapRng ? growBoxes(overlapRng, disjoint, W, overlap) : disjoint;
  /** Slots front to back. */
  const order = overlapRng ? overlapRng.shuffle(Array.from({ length: k }, (_, i) => i)) : Array.from({ length: k }, (_, i) => i);
  const depth = new Array<number>(k);
  order.forEach((slot, d) => (depth[slot] = d));
  const dropout = config.layoutDropout ?? 0;
  const dropRng = dropout > 0 ? Prng.keyed(config.seed, `${split}:${index}:layout-dropout`) : null;
  const dropped = Array.from({ length: k }, () => (dropRng ? dropRng.float() < dropout : false));
  const bg = renderBackground(background, W, W);
  const shaders = identities.map((i) => new SubjectShader(i));
  const drawn: Drawn[] = shaders.map((shader, i) => ({ shader, pose: layout[i]!.pose }));
  const target = bg.slice();
  const label = new Uint8Array(W * W);
  drawInOrder(target, W, W, drawn, order, label);

  const refPose = referencePose(R, config.refScale);
  const refs = shaders.map((s) => renderReference(s, refPose, R));
  const affines = layout.map((p) => referenceToTarget(p.pose, R, config.refScale));
  const correspondence = computeCorrespondence({
    targetWidth: W,
    targetHeight: W,
    refSize: R,
    patchSize: config.patchSize,
    refPatchSize: config.refPatchSize,
    label,
    refs: refs.map((r, i) => ({ mask: r.mask, refToTarget: affines[i]! })),
  });

  // Indexed loops: a for-of over the Uint8Array deoptimised generateSample once per sample.
  const pixels = new Array<number>(k).fill(0);
  for (let p = 0; p < label.length; p++) {
    const l = label[p]!;
    if (l > 0) pixels[l - 1]!++;
  }
  const ownedBySlot = new Array<number>(k).fill(0);
  const owner = correspondence.owner;
  for (let v = 0; v < owner.length; v++) if (owner[v]! >= 0) ownedBySlot[owner[v]!]!++;
  const subjects: SubjectAnnotation[] = identities.map((identity, slot) => {
    const owned = ownedBySlot[slot]!;
    return {
      slot,
      identity: identity.id,
      reference: { file: files.refs[slot]!, size: R, scale: config.refScale },
      box: layout[slot]!.box,
      pose: layout[slot]!.pose,
      relativePose: relativePose(layout[slot]!.pose, R, config.refScale),
      depth: depth[slot]!,
      layoutDropped: dropped[slot]!,
      refToTarget: affines[slot]!,
      attributes: {
        family: identity.family,
        pattern: identity.pattern,
        marker: identity.marker,
        accessory: identity.accessory,
        palette: [hex(identity.palette[0]), hex(identity.palette[1]), hex(identity.palette[2])],
      },
      pixels: pixels[slot]!,
      ownedPatches: owned,
      visibleRefPatches: correspondence.refToTarget[slot]!.filter((v) => v >= 0).length,
      visible: owned > 0,
    };
  });

  let dip: DipAnnotation | null = null;
  let loser: ImageValue | undefined;
  let dipMask: ImageValue | undefined;
  if (config.dip !== 'none') {
    const made = makeLoser(config, rng, split, k, identities, drawn, order, target, bg, W, hues, ids);
    loser = { width: W, height: W, channels: 3, data: made.data };
    dipMask = { width: W, height: W, channels: 1, data: made.mask };
    dip = {
      kind: made.kind,
      slot: made.slot,
      sourceSlot: made.sourceSlot,
      replacementIdentity: made.replacement,
      loser: { file: files.loser },
      mask: { file: files.mask },
      changedPixels: made.changed,
    };
  }

  const refHalf = refPose.half;
  const prompt =
    `${k} subject${k > 1 ? 's' : ''}: ` +
    identities.map((identity, i) => `[${i + 1}] ${describe(identity, layout[i]!.pose, W, refHalf, dropped[i]!)}`).join('; ');
  const annotation: SemAlignAnnotation = {
    format: 'semalign-annotation',
    version: ANNOTATION_VERSION,
    id,
    split,
    index,
    k,
    target: { file: files.target, width: W, height: W },
    label: { file: files.label, encoding: 'slot+1' },
    background,
    prompt,
    subjects,
    correspondence,
    dip,
  };
  return {
    annotation,
    target: { width: W, height: W, channels: 3, data: target },
    refs: refs.map((r) => r.image),
    label: { width: W, height: W, channels: 1, data: label },
    loser,
    dipMask,
  };
}

function makeLoser(
  config: GeneratorConfig,
  rng: Prng,
  split: Split,
  k: number,
  identities: Identity[],
  drawn: Drawn[],
  order: readonly number[],
  winner: Uint8Array,
  bg: Uint8Array,
  W: number,
  hues: Set<number>,
  ids: Set<number>,
) {
  const slot = rng.int(k);
  const roll = rng.float();
  let kind: DipKind =
    config.dip === 'swap' || k === 1 ? 'swap' : config.dip === 'attribute' ? (roll < 0.5 ? 'color' : 'texture') : roll < 1 / 3 ? 'swap' : roll < 2 / 3 ? 'color' : 'texture';
  let source = k > 1 ? (slot + 1 + rng.int(k - 1)) % k : -1;
  const swapId = pickIdentities(rng, split, 1, hues, ids)[0]!;
  const render = (changed: Identity) => {
    const data = winner.slice();
    const subjects = drawn.map((d, i) => (i === slot ? { shader: new SubjectShader(changed), pose: d.pose } : d));
    drawInOrder(data, W, W, subjects, order, undefined, poseBounds(drawn[slot]!.pose, W, W), bg);
    return data;
  };
  const me = identities[slot]!;
  const other = source >= 0 ? identities[source]! : me;
  let data =
    kind === 'swap'
      ? render(identityFromId(swapId))
      : kind === 'color'
        ? render({ ...me, palette: other.palette })
        : render({ ...me, pattern: other.pattern, frequency: other.frequency, orientation: other.orientation });
  const mask = new Uint8Array(W * W);
  let changed = 0;
  const diff = () => {
    changed = 0;
    for (let p = 0; p < W * W; p++) {
      const d = data[3 * p] !== winner[3 * p] || data[3 * p + 1] !== winner[3 * p + 1] || data[3 * p + 2] !== winner[3 * p + 2];
      mask[p] = d ? 255 : 0;
      if (d) changed++;
    }
  };
  diff();
  if (changed === 0) {
    // A leak that happens to change nothing (e.g. identical texture) is no preference pair.
    kind = 'swap';
    source = -1;
    data = render(identityFromId(swapId));
    diff();
  }
  return {
    kind,
    slot,
    sourceSlot: kind === 'swap' ? null : source,
    replacement: kind === 'swap' ? swapId : null,
    data,
    mask,
    changed,
  };
}

/**
 * Re-renders a sample's target from its annotation alone (background + identities + poses),
 * optionally with some slots' identities replaced. Reproduces the stored target byte for byte,
 * which makes the annotation a complete description of the scene; with replacements it makes
 * controlled counterfactuals (swapped subjects, leaked attributes) for metric tests.
 */
export function renderTarget(a: SemAlignAnnotation, replace: ReadonlyMap<number, Identity> = new Map()): ImageValue {
  const W = a.target.width;
  const H = a.target.height;
  const data = renderBackground(a.background, W, H);
  const drawn = a.subjects.map((s) => ({ shader: new SubjectShader(replace.get(s.slot) ?? identityFromId(s.identity)), pose: s.pose }));
  drawInOrder(data, W, H, drawn, occlusionOrder(a.subjects));
  return { width: W, height: H, channels: 3, data };
}

/** Slots front to back (by depth; a missing depth, as in version 1 annotations, means slot order). */
export function occlusionOrder(subjects: readonly { readonly slot: number; readonly depth?: number }[]): number[] {
  return subjects.map((s, i) => ({ slot: s.slot, d: s.depth ?? i })).sort((x, y) => x.d - y.d || x.slot - y.slot).map((x) => x.slot);
}

/**
 * {@link drawSubjects} with the subjects (indexed by slot) drawn front to back in `order`; the
 * label map gets slot+1 whatever the order.
 */
function drawInOrder(
  base: Uint8Array,
  width: number,
  height: number,
  bySlot: readonly Drawn[],
  order: readonly number[],
  label?: Uint8Array,
  region?: readonly [number, number, number, number],
  background?: Uint8Array,
): void {
  const identity = order.every((slot, i) => slot === i);
  drawSubjects(base, width, height, identity ? bySlot : order.map((slot) => bySlot[slot]!), label, region, background);
  if (label && !identity) for (let p = 0; p < label.length; p++) if (label[p]! > 0) label[p] = order[label[p]! - 1]! + 1;
}
