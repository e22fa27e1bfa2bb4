import { isRecord, own } from '../util/own.ts';

/**
 * A graph's links as node indices (file order), built once and shared by validation (cycle
 * check) and planning (ancestors, run order), so neither walks the document's links again.
 */
export interface GraphIndex {
  /** Node ids in file order; a node's index is its position here. */
  readonly ids: readonly string[];
  readonly indexOf: ReadonlyMap<string, number>;
  /**
   * The nodes node i reads from, once each, in link order: `depList[depStart[i] .. depStart[i + 1])`.
   * Links to missing nodes are left out. Flat lists, not an array per node.
   */
  readonly depStart: Int32Array;
  readonly depList: Int32Array;
  /**
   * Every link of the document, in file order (nodes, their `inputs` keys, array items): the
   * index of the node it reads from, or -1 (a missing node, or not a link). Node i's links are
   * `linkFrom[linkStart[i] .. linkStart[i + 1])`; an input that is not an array counts as one link.
   * Validation reads these instead of looking each link's node up again.
   */
  readonly linkStart: Int32Array;
  readonly linkFrom: Int32Array;
  /** The nodes that read node i, once each, in file order: `consumerList[consumerStart[i] .. consumerStart[i + 1])`. */
  readonly consumerStart: Int32Array;
  readonly consumerList: Int32Array;
  /**
   * Every node in a topological order whose ties keep file order (Kahn's algorithm with a queue
   * seeded in file order, newly ready nodes appended sorted). Shorter than `ids` when the graph
   * has a cycle: the nodes on or downstream of a cycle are missing.
   */
  readonly order: Int32Array;
}

/** Beyond this many links, a node's deps are deduplicated with a Set (a scan would be quadratic). */
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
  const depStart = new Int32Array(n + 1);
  const deps: number[] = [];
  const linkStart = new Int32Array(n + 1);
  const linkFrom: number[] = [];
  for (let i = 0; i < n; i++) {
    const first = deps.length;
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
          linkFrom.push(d ?? -1);
          if (d === undefined || (seen ? seen.has(d) : deps.indexOf(d, first) !== -1)) continue;
          deps.push(d);
          if (seen) seen.add(d);
          else if (deps.length - first > WIDE) seen = new Set(deps.slice(first));
        }
      }
    }
    depStart[i + 1] = deps.length;
    linkStart[i + 1] = linkFrom.length;
  }
  const depList = Int32Array.from(deps);
  // Consumers: the same edges grouped by source (a counting sort keeps file order).
  const consumerStart = new Int32Array(n + 1);
  for (let j = 0; j < depList.length; j++) consumerStart[depList[j]! + 1]!++;
  for (let i = 0; i < n; i++) consumerStart[i + 1]! += consumerStart[i]!;
  const fill = consumerStart.slice(0, n);
  const consumerList = new Int32Array(depList.length);
  for (let i = 0; i < n; i++) for (let j = depStart[i]!; j < depStart[i + 1]!; j++) consumerList[fill[depList[j]!]!++] = i;
  const index = { ids, indexOf, depStart, depList, linkStart, linkFrom: Int32Array.from(linkFrom), consumerStart, consumerList };
  return { ...index, order: topologicalOrder(index) };
}

/** Kahn's algorithm; see GraphIndex.order. */
function topologicalOrder({ depStart, consumerStart, consumerList }: Pick<GraphIndex, 'depStart' | 'consumerStart' | 'consumerList'>): Int32Array {
  const n = depStart.length - 1;
  const indegree = new Int32Array(n);
  const ready = new Int32Array(n);
  let tail = 0;
  for (let i = 0; i < n; i++) {
    indegree[i] = depStart[i + 1]! - depStart[i]!;
    if (indegree[i] === 0) ready[tail++] = i;
  }
  for (let head = 0; head < tail; head++) {
    const first = tail;
    const v = ready[head]!;
    for (let j = consumerStart[v]!; j < consumerStart[v + 1]!; j++) {
      const c = consumerList[j]!;
      if (--indegree[c]! === 0) ready[tail++] = c;
    }
    // Indices are file positions: sorting the newly ready ones keeps ties in file order.
    if (tail - first > 1) ready.subarray(first, tail).sort();
  }
  return tail === n ? ready : ready.slice(0, tail);
}
