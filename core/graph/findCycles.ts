import type { GraphIndex } from './indexGraph.ts';

/**
 * Strongly connected components with more than one node (or a self-link), each as a list of node
 * ids in file order. Iterative Tarjan, so a 100,000-node chain does not overflow the stack.
 * Validation calls it only when the index's topological order left nodes out.
 */
export function findCycles({ ids, indexOf: index, depStart, depList }: GraphIndex): string[][] {
  // Edges point from a node to the nodes it reads from.
  const degree = (v: number) => depStart[v + 1]! - depStart[v]!;
  const n = ids.length;
  const order = new Array<number>(n).fill(-1);
  const low = new Array<number>(n).fill(0);
  const onStack = new Array<boolean>(n).fill(false);
  const stack: number[] = [];
  const result: string[][] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (order[root] !== -1) continue;
    const work: [number, number][] = [[root, 0]];
    order[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = true;
    while (work.length) {
      const frame = work[work.length - 1]!;
      const [v, k] = frame;
      if (k < degree(v)) {
        frame[1]++;
        const w = depList[depStart[v]! + k]!;
        if (order[w] === -1) {
          order[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = true;
          work.push([w, 0]);
        } else if (onStack[w]) {
          low[v] = Math.min(low[v]!, order[w]!);
        }
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1]![0];
        low[parent] = Math.min(low[parent]!, low[v]!);
      }
      if (low[v] === order[v]) {
        const comp: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = false;
          comp.push(w);
        } while (w !== v);
        if (comp.length > 1 || depList.subarray(depStart[v]!, depStart[v + 1]!).includes(v)) result.push(comp.sort((a, b) => a - b).map((i) => ids[i]!));
      }
    }
  }
  return result.sort((a, b) => index.get(a[0]!)! - index.get(b[0]!)!);
}
