import type { SemAlignSample } from 'tessera/semalign';

/** One sample's annotated (reference token row, target patch) pairs, grouped by slot. */
export interface SamplePairs {
  readonly id: string;
  /** Per slot: the reference patches u with a target patch, and those target patches v. */
  readonly slots: readonly { readonly u: readonly number[]; readonly v: readonly number[] }[];
  /** Total number of pairs over all slots. */
  readonly total: number;
}

/**
 * Validates a batch against the map layout and extracts its pairs. Why one checker: SCAL targets
 * and MDL row weights must agree on K, L and N, and bad correspondences ("outside the grid")
 * must fail before a graph is fed, naming the sample rather than surfacing as a NaN later.
 * Throws a RangeError naming the sample id and the offending value.
 */
export function checkBatch(samples: readonly SemAlignSample[], refPatches: number, targetPatches?: number): { k: number; pairs: SamplePairs[] } {
  if (samples.length === 0) throw new RangeError('mosaic losses: empty batch');
  if (!Number.isInteger(refPatches) || refPatches < 1) throw new RangeError(`mosaic losses: refPatches must be a positive integer, got ${refPatches}`);
  if (targetPatches !== undefined && (!Number.isInteger(targetPatches) || targetPatches < 1)) {
    throw new RangeError(`mosaic losses: targetPatches must be a positive integer, got ${targetPatches}`);
  }
  const k = samples[0]!.annotation.k;
  const pairs = samples.map((s) => {
    const a = s.annotation;
    const c = a.correspondence;
    if (a.k !== k) throw new RangeError(`mosaic losses: sample ${a.id} has k = ${a.k}, but sample ${samples[0]!.annotation.id} has k = ${k}; all samples of a batch need the same K`);
    if (c.refToTarget.length !== a.k) throw new RangeError(`mosaic losses: sample ${a.id} has ${c.refToTarget.length} correspondence slots for k = ${a.k}`);
    const refCells = c.refGrid[0] * c.refGrid[1];
    if (refCells !== refPatches) throw new RangeError(`mosaic losses: sample ${a.id} has a ${c.refGrid[0]}×${c.refGrid[1]} reference grid (${refCells} patches), expected refPatches = ${refPatches}`);
    const n = c.targetGrid[0] * c.targetGrid[1];
    if (targetPatches !== undefined && n !== targetPatches) {
      throw new RangeError(`mosaic losses: sample ${a.id} has a ${c.targetGrid[0]}×${c.targetGrid[1]} target grid (${n} patches), expected targetPatches = ${targetPatches}`);
    }
    let total = 0;
    const slots = c.refToTarget.map((row, slot) => {
      if (row.length !== refPatches) throw new RangeError(`mosaic losses: sample ${a.id} slot ${slot} has ${row.length} reference patches, expected ${refPatches}`);
      const u: number[] = [];
      const v: number[] = [];
      row.forEach((t, patch) => {
        if (t === -1) return;
        if (!Number.isInteger(t) || t < 0 || t >= n) {
          throw new RangeError(`mosaic losses: sample ${a.id} slot ${slot} reference patch ${patch} maps to target patch ${t}, outside the ${n}-patch target grid`);
        }
        u.push(patch);
        v.push(t);
      });
      total += u.length;
      return { u, v };
    });
    return { id: a.id, slots, total };
  });
  return { k, pairs };
}
