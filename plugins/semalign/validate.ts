import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { relativePose } from './geometry.ts';
import type { SemAlignAnnotation } from './sample.ts';

/** A dataset file failed validation; the message names the file and the field. */
export class DatasetError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    message: string,
  ) {
    super(`${file}: ${field ? `${field}: ` : ''}${message}`);
    this.name = 'DatasetError';
  }
}

const schemaDir = new URL('../../schemas/', import.meta.url);
let ajv: Ajv2020 | undefined;
const compiled = new Map<string, ValidateFunction>();

/** Compiles (once) a schema from schemas/ by file name. */
export function schemaValidator(name: string): ValidateFunction {
  let v = compiled.get(name);
  if (!v) {
    ajv ??= new Ajv2020({ allErrors: false, strict: false });
    v = ajv.compile(JSON.parse(readFileSync(new URL(name, schemaDir), 'utf8')));
    compiled.set(name, v);
  }
  return v;
}

function describe(e: ErrorObject): [string, string] {
  const field = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(root)';
  const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
  return [field, `${e.message ?? 'invalid'}${extra}`];
}

/** Validates `value` against a schema; throws {@link DatasetError} naming file and field. */
export function assertSchema(name: string, value: unknown, file: string): void {
  const v = schemaValidator(name);
  if (!v(value)) {
    const [field, msg] = describe(v.errors![0]!);
    throw new DatasetError(file, field, `fails ${name}: ${msg}`);
  }
}

/**
 * Semantic checks the schema cannot express: array lengths match the grids, every index lies
 * in its grid, ownership and the two correspondence directions agree.
 */
export function checkAnnotation(a: SemAlignAnnotation, file: string): void {
  const fail = (field: string, msg: string): never => {
    throw new DatasetError(file, field, msg);
  };
  if (a.subjects.length !== a.k) fail('subjects', `has ${a.subjects.length} entries but k = ${a.k}`);
  a.subjects.forEach((s, i) => {
    if (s.slot !== i) fail(`subjects.${i}.slot`, `is ${s.slot}, expected ${i}`);
  });
  const c = a.correspondence;
  const [gw, gh] = c.targetGrid;
  const [rw, rh] = c.refGrid;
  if (gw * c.patchSize !== a.target.width || gh * c.patchSize !== a.target.height) {
    fail('correspondence.targetGrid', `${gw}×${gh} patches of ${c.patchSize} px do not tile the ${a.target.width}×${a.target.height} target`);
  }
  const n = gw * gh;
  const nr = rw * rh;
  if (c.owner.length !== n) fail('correspondence.owner', `has ${c.owner.length} entries, the target grid has ${n}`);
  if (c.refPatch.length !== n) fail('correspondence.refPatch', `has ${c.refPatch.length} entries, the target grid has ${n}`);
  if (c.refPoint.length !== 2 * n) fail('correspondence.refPoint', `has ${c.refPoint.length} entries, expected ${2 * n}`);
  if (c.refToTarget.length !== a.k) fail('correspondence.refToTarget', `has ${c.refToTarget.length} maps but k = ${a.k}`);
  for (let v = 0; v < n; v++) {
    const o = c.owner[v]!;
    const u = c.refPatch[v]!;
    if (o < -1 || o >= a.k) fail(`correspondence.owner.${v}`, `slot ${o} is outside 0..${a.k - 1}`);
    if (u < -1 || u >= nr) fail(`correspondence.refPatch.${v}`, `${u} is outside the ${rw}×${rh} reference grid`);
    if ((o < 0) !== (u < 0)) fail(`correspondence.refPatch.${v}`, `is ${u} but owner is ${o}`);
  }
  a.subjects.forEach((s, slot) => {
    const ref = s.reference.size;
    if (rw * c.refPatchSize !== ref || rh * c.refPatchSize !== ref) {
      fail(`subjects.${slot}.reference.size`, `${ref} px is not tiled by the ${rw}×${rh} grid of ${c.refPatchSize} px patches`);
    }
    const map = c.refToTarget[slot]!;
    if (map.length !== nr) fail(`correspondence.refToTarget.${slot}`, `has ${map.length} entries, the reference grid has ${nr}`);
    map.forEach((v, u) => {
      if (v < -1 || v >= n) fail(`correspondence.refToTarget.${slot}.${u}`, `${v} is outside the ${gw}×${gh} target grid`);
      if (v >= 0 && c.owner[v] !== slot) fail(`correspondence.refToTarget.${slot}.${u}`, `points at target patch ${v}, owned by ${c.owner[v]}, not ${slot}`);
    });
  });
  if (a.version >= 2) checkLayoutFields(a, fail);
  if (a.dip && a.dip.slot >= a.k) fail('dip.slot', `${a.dip.slot} is outside 0..${a.k - 1}`);
  if (a.dip && a.dip.sourceSlot !== null && a.dip.sourceSlot >= a.k) fail('dip.sourceSlot', `${a.dip.sourceSlot} is outside 0..${a.k - 1}`);
}

/**
 * Version 2 fields: present on every subject, depths a permutation of 0..k−1, and the relative
 * pose the one the target pose and the reference imply (so the condition cannot contradict the
 * rendering).
 */
function checkLayoutFields(a: SemAlignAnnotation, fail: (field: string, msg: string) => never): void {
  const seen = new Set<number>();
  a.subjects.forEach((s, i) => {
    const raw = s as Partial<typeof s>;
    for (const f of ['relativePose', 'depth', 'layoutDropped'] as const) if (raw[f] === undefined) fail(`subjects.${i}`, `must have property '${f}' (annotation version ${a.version})`);
    if (s.depth >= a.k || seen.has(s.depth)) fail(`subjects.${i}.depth`, `${s.depth} repeats or is outside 0..${a.k - 1} (depths are a permutation)`);
    seen.add(s.depth);
    const want = relativePose(s.pose, s.reference.size, s.reference.scale);
    const got = s.relativePose;
    if (got.flip !== want.flip || got.rotationDeg !== want.rotationDeg || Math.abs(got.scale - want.scale) > 1e-9 * want.scale) {
      fail(`subjects.${i}.relativePose`, `is ${JSON.stringify(got)} but the pose and reference give ${JSON.stringify(want)}`);
    }
  });
}
