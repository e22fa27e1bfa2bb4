/** A small table drawn on a node: one row per measure, one column per K. */
export interface TableView {
  /** Column headings (`K=1`, `K=2`, …). */
  columns: string[];
  rows: { label: string; cells: string[] }[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The per-K table of an output value, or undefined when it is not one: an array (at most 32
 * entries) of objects with distinct numeric `k`s, like metrics nodes' `perK`. Numbers directly on a row
 * and one level down (`means.identityPsnr`) become the table's rows; arrays (confusion) are left out.
 */
export function perKTable(value: unknown, maxRows = 24): TableView | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > 32) return undefined;
  if (!value.every((r) => isRecord(r) && typeof r.k === 'number')) return undefined;
  const records = value as Record<string, unknown>[];
  // One row per K (a per-sample list also carries k, repeated).
  if (new Set(records.map((r) => r.k)).size !== records.length) return undefined;
  const measures = new Map<string, (number | null)[]>();
  records.forEach((r, i) => {
    const put = (name: string, v: unknown) => {
      if (name === 'k' || (typeof v !== 'number' && v !== null)) return;
      if (!measures.has(name)) measures.set(name, new Array<number | null>(records.length).fill(null));
      measures.get(name)![i] = v as number | null;
    };
    for (const [key, v] of Object.entries(r)) {
      if (isRecord(v)) for (const [sub, w] of Object.entries(v)) put(sub, w);
      else put(key, v);
    }
  });
  const rows = [...measures.entries()]
    .filter(([, vs]) => vs.some((v) => v !== null))
    .slice(0, maxRows)
    .map(([label, vs]) => ({ label, cells: vs.map(formatCell) }));
  if (!rows.length) return undefined;
  return { columns: records.map((r) => `K=${r.k as number}`), rows };
}

function formatCell(v: number | null): string {
  if (v === null) return '–';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1000 || a < 0.001 ? v.toExponential(1) : v.toPrecision(3);
}
