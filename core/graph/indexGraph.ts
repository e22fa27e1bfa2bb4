import { isRecord, own } from '../util/own.ts';

/**
 * A graph's links as node indices (file order), built once and shared by validation (cycle
 * check) and planning (ancestors, run order), so neither walks the document's links again.
 */
export interface GraphIndex {
  /** Node ids in file order; a node's index is its position here. */
  readonly ids: readonly string[];
  readonly indexOf: ReadonlyMap<string, number>;
  /** Per node, the nodes it reads from, once each, in link order. Links to missing nodes are left out. */
  readonly deps: readonly (readonly number[])[];
  /** Per node, the nodes that read it, once each. */
  readonly consumers: readonly (readonly number[])[];
  /**
   * Every node in a topological order whose ties keep file order (Kahn's algorithm with a queue
   * seeded in file order, newly ready nodes appended sorted). Shorter than `ids` when the graph
   * has a cycle: the nodes on or downstream of a cycle are missing.
   */
  readonly order: Int32Array;
}

/** Beyond this many links, a node's deps are deduplicated with a Set (`includes` would be quadratic). */
const WIDE = 16;

/**
 * Indexes the links of a `nodes` record. Values of the wrong shape are skipped (the schema
 * reports them); names are read as own keys only.
 */
export function indexGraph(nodes: Readonly<Record<string, unknown>>): GraphIndex {
  const ids = Object.keys(nodes);
  const n = ids.length;
  const indexOf = new Map<string, number>();
  for (let i = 0; i < n; i++) indexOf.set(ids[i]!, i);
  const deps: number[][] = new Array(n);
  const consumers: number[][] = new Array(n);
  for (let i = 0; i < n; i++) consumers[i] = [];
  for (let i = 0; i < n; i++) {
    const list: number[] = [];
    let seen: Set<number> | undefined;
    const inputs = own(nodes[ids[i]!], 'inputs');
    if (isRecord(inputs)) {
      for (const port in inputs) {
        if (!Object.hasOwn(inputs, port)) continue;
        const value = inputs[port];
        const many = Array.isArray(value);
        const count = many ? value.length : 1;
        for (let k = 0; k < count; k++) {
          const from = own(many ? value[k] : value, 'node');
          const d = typeof from === 'string' ? indexOf.get(from) : undefined;
          if (d === undefined || (seen ? seen.has(d) : list.includes(d))) continue;
          list.push(d);
          if (seen) seen.add(d);
          else if (list.length > WIDE) seen = new Set(list);
          consumers[d]!.push(i);
        }
      }
    }
    deps[i] = list;
  }
  return { ids, indexOf, deps, consumers, order: topologicalOrder(deps, consumers) };
}

/** Kahn's algorithm; see GraphIndex.order. */
function topologicalOrder(deps: readonly (readonly number[])[], consumers: readonly (readonly number[])[]): Int32Array {
  const n = deps.length;
  const indegree = new Int32Array(n);
  const ready = new Int32Array(n);
  let tail = 0;
  for (let i = 0; i < n; i++) {
    indegree[i] = deps[i]!.length;
    if (indegree[i] === 0) ready[tail++] = i;
  }
  for (let head = 0; head < tail; head++) {
    const first = tail;
    for (const c of consumers[ready[head]!]!) if (--indegree[c]! === 0) ready[tail++] = c;
    // Indices are file positions: sorting the newly ready ones keeps ties in file order.
    if (tail - first > 1) ready.subarray(first, tail).sort();
  }
  return tail === n ? ready : ready.slice(0, tail);
}
