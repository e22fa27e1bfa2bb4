import type { SemAlignSample } from 'tessera/semalign';

/**
 * A preference pair travels as a SemAlign sample: the condition (references, layout), the winner
 * as `target`, the loser as `loser` and the prior mask as `dipMask` (255 = changed pixel). So
 * pairs flow on SEMALIGN_SAMPLES ports and train/Train takes them unchanged.
 */
export type PreferencePair = SemAlignSample & { readonly loser: SemAlignSample['target']; readonly dipMask: SemAlignSample['target'] };

export function isPair(s: SemAlignSample): s is PreferencePair {
  return s.loser !== undefined && s.dipMask !== undefined && s.annotation.dip !== null;
}

/** The pairs among `samples`, or an error naming how many lacked one and how to get them. */
export function requirePairs(samples: unknown, where: string): PreferencePair[] {
  if (!Array.isArray(samples)) throw new TypeError(`${where}: training data must be preference pairs (SEMALIGN_SAMPLES from focusdpo/PreferencePairs)`);
  const pairs = (samples as SemAlignSample[]).filter(isPair);
  if (pairs.length === 0) throw new RangeError(`${where}: none of the ${samples.length} samples carries a preference pair (loser + prior mask); generate SemAlign-Synth with dip ≠ none, or use focusdpo/PreferencePairs`);
  if (pairs.length < samples.length) throw new RangeError(`${where}: ${samples.length - pairs.length} of ${samples.length} samples carry no preference pair (e.g. ${(samples as SemAlignSample[]).find((s) => !isPair(s))!.annotation.id}); filter them with focusdpo/PreferencePairs`);
  for (const p of pairs) {
    if (p.loser.width !== p.target.width || p.loser.height !== p.target.height) throw new RangeError(`${where}: ${p.annotation.id}: loser ${p.loser.width}×${p.loser.height} differs from winner ${p.target.width}×${p.target.height}`);
    if (p.dipMask.width !== p.target.width || p.dipMask.height !== p.target.height) throw new RangeError(`${where}: ${p.annotation.id}: prior mask ${p.dipMask.width}×${p.dipMask.height} differs from winner ${p.target.width}×${p.target.height}`);
  }
  return pairs;
}
