/**
 * Pure part of the placement report: onnxruntime profile events → one row per (op type,
 * provider) with node count, total kernel time and share. Input is untrusted JSON, so every
 * field is checked before use.
 */

export interface PlacementRow {
  readonly op: string;
  /** ORT's provider name, e.g. CPUExecutionProvider, WebGpuExecutionProvider. */
  readonly provider: string;
  /** Distinct graph nodes of this op type on this provider. */
  readonly nodes: number;
  /** Kernel time summed over all profiled runs, microseconds. */
  readonly totalUs: number;
  /** totalUs / all kernel time, 0..1. */
  readonly share: number;
}

const KERNEL_SUFFIX = '_kernel_time';

/** Rows sorted by time, largest first. Events that are not node kernel timings are skipped. */
export function placementTable(events: unknown): PlacementRow[] {
  if (!Array.isArray(events)) throw new Error('placement: profile is not a JSON array of events');
  const groups = new Map<string, { op: string; provider: string; nodes: Set<string>; us: number }>();
  let total = 0;
  for (const e of events as unknown[]) {
    if (typeof e !== 'object' || e === null) continue;
    const { cat, name, dur, args } = e as Record<string, unknown>;
    if (cat !== 'Node' || typeof name !== 'string' || !name.endsWith(KERNEL_SUFFIX)) continue;
    if (typeof dur !== 'number' || !Number.isFinite(dur) || dur < 0) continue;
    const a = typeof args === 'object' && args !== null ? (args as Record<string, unknown>) : {};
    const op = typeof a.op_name === 'string' ? a.op_name : '?';
    const provider = typeof a.provider === 'string' ? a.provider : '?';
    const key = `${op}\u0000${provider}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { op, provider, nodes: new Set(), us: 0 }));
    g.nodes.add(name.slice(0, -KERNEL_SUFFIX.length));
    g.us += dur;
    total += dur;
  }
  return [...groups.values()]
    .map((g) => ({ op: g.op, provider: g.provider, nodes: g.nodes.size, totalUs: g.us, share: total > 0 ? g.us / total : 0 }))
    .sort((x, y) => y.totalUs - x.totalUs || x.op.localeCompare(y.op));
}

/** A fixed-width text table; `steps` turns totals into per-step milliseconds. */
export function formatPlacement(rows: readonly PlacementRow[], steps: number): string {
  const head = `${'op type'.padEnd(24)} ${'provider'.padEnd(26)} ${'nodes'.padStart(5)} ${'ms/step'.padStart(9)} ${'share'.padStart(7)}`;
  const lines = rows.map((r) => `${r.op.padEnd(24)} ${r.provider.padEnd(26)} ${String(r.nodes).padStart(5)} ${(r.totalUs / steps / 1000).toFixed(3).padStart(9)} ${(100 * r.share).toFixed(1).padStart(6)}%`);
  const total = rows.reduce((s, r) => s + r.totalUs, 0);
  return [head, ...lines, `${'total'.padEnd(24)} ${''.padEnd(26)} ${String(rows.reduce((s, r) => s + r.nodes, 0)).padStart(5)} ${(total / steps / 1000).toFixed(3).padStart(9)}`].join('\n');
}
