import type { ImageValue } from 'tessera';
import type { RewardService } from 'tessera/metrics';
import type { SemAlignSample } from 'tessera/semalign';
import type { PreferencePair } from './pairs.ts';

/** The winner and loser among one condition's candidates, or why there is no pair. */
export type Ranking =
  | { readonly ok: true; readonly winner: number; readonly loser: number; readonly slot: number; readonly rewards: readonly number[]; readonly margin: number }
  | { readonly ok: false; readonly rewards: readonly number[]; readonly margin: number };

/**
 * Ranks a condition's candidate generations by the ground-truth reward (pure): the winner has the
 * highest mean reward, the loser the lowest (ties: the earlier candidate wins, the later loses);
 * the prior-mask subject is the one whose own reward differs most between them (ties: the lower
 * slot). No pair when the winner beats the loser by less than `minMargin`: near-equal
 * generations teach DPO nothing but noise [ours].
 */
export function rankCandidates(sample: SemAlignSample, candidates: readonly ImageValue[], reward: RewardService, minMargin: number): Ranking {
  if (candidates.length < 2) throw new RangeError(`focusdpo: ${sample.annotation.id}: on-policy pairs need at least 2 candidates, got ${candidates.length}`);
  const scores = candidates.map((c) => reward.score(sample, c));
  const rewards = scores.map((s) => s.reward);
  let winner = 0;
  let loser = 0;
  rewards.forEach((r, i) => {
    if (r > rewards[winner]!) winner = i;
    if (r <= rewards[loser]!) loser = i;
  });
  const margin = rewards[winner]! - rewards[loser]!;
  if (winner === loser || margin < minMargin) return { ok: false, rewards, margin };
  let slot = 0;
  let gap = -Infinity;
  for (const sw of scores[winner]!.subjects) {
    const sl = scores[loser]!.subjects.find((x) => x.slot === sw.slot);
    const d = Math.abs(sw.reward - (sl?.reward ?? 0));
    if (d > gap) [gap, slot] = [d, sw.slot];
  }
  return { ok: true, winner, loser, slot, rewards, margin };
}

/** The subject's region in the sample's label map (value slot + 1) as a prior mask: 255 inside, 0 outside. */
export function subjectMask(sample: SemAlignSample, slot: number): ImageValue {
  const { label } = sample;
  const data = new Uint8Array(label.width * label.height);
  for (let i = 0; i < data.length; i++) data[i] = label.data[i * label.channels] === slot + 1 ? 255 : 0;
  return { width: label.width, height: label.height, channels: 1, data };
}

/** The pair for a ranked condition: winner as `target`, loser, the subject's mask, and how it was chosen. */
export function onPolicyPair(sample: SemAlignSample, candidates: readonly ImageValue[], ranking: Extract<Ranking, { ok: true }>, seed: number): PreferencePair {
  const winner = candidates[ranking.winner]!;
  for (const c of [winner, candidates[ranking.loser]!]) {
    if (c.width !== sample.target.width || c.height !== sample.target.height) throw new RangeError(`focusdpo: ${sample.annotation.id}: generated ${c.width}×${c.height}, target ${sample.target.width}×${sample.target.height}`);
  }
  return {
    ...sample,
    target: winner,
    loser: candidates[ranking.loser]!,
    dipMask: subjectMask(sample, ranking.slot),
    preference: { source: 'on-policy', slot: ranking.slot, seeds: { winner: seed + ranking.winner, loser: seed + ranking.loser }, rewards: ranking.rewards, margin: ranking.margin },
  };
}
