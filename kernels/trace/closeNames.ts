/**
 * Names that look like `word`, best first, for "matches nothing; did you mean …" errors over
 * tensor names such as 'blocks.0.attn.qkv.weight'. Ranks by shared dot/underscore-separated
 * tokens, then by common prefix: a typo in one token still shares the others. (kernels/ cannot
 * import core/util/closestMatch, and tensor names are long enough that token overlap ranks well.)
 */
export function closeNames(word: string, candidates: Iterable<string>, limit = 5): string[] {
  const split = (s: string) => s.toLowerCase().split(/[./:_-]+/).filter(Boolean);
  const tokens = new Set(split(word));
  const lower = word.toLowerCase();
  const scored: { name: string; score: number }[] = [];
  for (const c of candidates) {
    const shared = split(c).filter((t) => tokens.has(t)).length;
    let prefix = 0;
    const cl = c.toLowerCase();
    while (prefix < lower.length && prefix < cl.length && lower[prefix] === cl[prefix]) prefix++;
    if (shared > 0 || prefix >= Math.min(3, lower.length - 1)) scored.push({ name: c, score: shared + prefix / (lower.length + 1) });
  }
  return scored
    .sort((a, b) => b.score - a.score || a.name.localeCompare(b.name))
    .slice(0, limit)
    .map((s) => s.name);
}
