/** Words longer than this get no suggestion: the edit distance is quadratic in the lengths. */
const MAX_WORD = 64;

/** The candidate nearest to `word` by edit distance, if it is close enough to be a likely typo. */
export function closestMatch(word: unknown, candidates: readonly unknown[]): string | undefined {
  if (typeof word !== 'string' || word.length > MAX_WORD) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = word.toLowerCase();
  for (const c of candidates) {
    if (typeof c !== 'string' || c.length > MAX_WORD) continue;
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
