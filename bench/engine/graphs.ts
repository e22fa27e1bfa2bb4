/**
 * The engine benchmark's graphs and engine (bench/engine/engine.bench.ts, profile.ts): trivial
 * node types, so what is measured is engine overhead, and chain / fan-out / seeded random-DAG
 * shapes as edge lists, built the same way for tessera and rete-engine.
 */
import type * as tessera from 'tessera';

export type Shape = 'chain' | 'fanout' | 'dag';
export type Api = Pick<typeof tessera, 'createEngine' | 'defineNode' | 'definePlugin' | 'planRun'>;

/** An engine with three trivial node types, so the time measured is engine overhead. */
export async function makeEngine(api: Api) {
  const meta = { category: 'b', description: '', version: '1.0.0' };
  const Source = api.defineNode({ ...meta, type: 'b/Source', title: 'Source', inputs: {}, outputs: { v: { type: 'NUMBER' } }, execute: () => ({ v: 1 }) });
  const Inc = api.defineNode({ ...meta, type: 'b/Inc', title: 'Inc', inputs: { a: { type: 'NUMBER' } }, outputs: { v: { type: 'NUMBER' } }, execute: ({ inputs }) => ({ v: inputs.a + 1 }) });
  const Sum = api.defineNode({ ...meta, type: 'b/Sum', title: 'Sum', inputs: { a: { type: 'NUMBER', list: true } }, outputs: { v: { type: 'NUMBER' } }, execute: ({ inputs }) => ({ v: inputs.a.reduce((s, x) => s + x, 0) % 1e9 }) });
  const engine = await api.createEngine({ plugins: [api.definePlugin({ name: 'b', version: '1.0.0', nodes: [Source, Inc, Sum] })] });
  return { engine, planRun: api.planRun };
}
export type Tessera = Awaited<ReturnType<typeof makeEngine>>;

/** Deterministic 32-bit generator (mulberry32), so every run benchmarks the same DAGs. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Edges of a graph of `n` nodes as [from, to] index pairs; node 0 is the only source. */
export function edgesOf(shape: Shape, n: number): { edges: [number, number][]; listInput: boolean } {
  const edges: [number, number][] = [];
  if (shape === 'chain') {
    for (let i = 1; i < n; i++) edges.push([i - 1, i]);
    return { edges, listInput: false };
  }
  if (shape === 'fanout') {
    for (let i = 1; i < n - 1; i++) edges.push([0, i], [i, n - 1]);
    return { edges, listInput: false };
  }
  // Random DAG: each node reads 1–3 distinct earlier nodes, half of them from the last 16 (local
  // structure) and half from anywhere before it (long edges).
  const r = rng(n);
  for (let i = 1; i < n; i++) {
    const k = Math.min(i, 1 + Math.floor(r() * 3));
    const from = new Set<number>();
    while (from.size < k) from.add(r() < 0.5 ? Math.max(0, i - 1 - Math.floor(r() * 16)) : Math.floor(r() * i));
    for (const f of from) edges.push([f, i]);
  }
  return { edges, listInput: true };
}

export function tesseraGraph(shape: Shape, n: number) {
  const { edges } = edgesOf(shape, n);
  const ins = Array.from({ length: n }, () => [] as number[]);
  for (const [f, t] of edges) ins[t]!.push(f);
  const nodes: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const links = ins[i]!.map((f) => ({ node: `n${f}`, output: 'v' }));
    if (i === 0) nodes[`n${i}`] = { type: 'b/Source' };
    else if (shape === 'chain' || (shape === 'fanout' && i < n - 1)) nodes[`n${i}`] = { type: 'b/Inc', inputs: { a: links[0] } };
    else nodes[`n${i}`] = { type: 'b/Sum', inputs: { a: links } };
  }
  return { format: 'tessera-graph', version: 1, nodes };
}

