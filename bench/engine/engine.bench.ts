/**
 * Engine overhead benchmark: tessera's executor next to rete-engine's DataflowEngine on the same
 * graphs, in one process, alternating, medians over repetitions. Also validation time against
 * node count (should grow linearly).
 *
 *   node --import tsx bench/engine/engine.bench.ts [--reps 7] [--json out.json]
 *
 * Figures are recorded in docs/engine.md.
 */
import { ClassicPreset, NodeEditor, type GetSchemes } from 'rete';
import { DataflowEngine } from 'rete-engine';
import { lastValueFrom, ignoreElements } from 'rxjs';
import { createEngine, defineNode, definePlugin } from 'tessera';
import { writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const reps = Number(args[args.indexOf('--reps') + 1] || 7) || 7;
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;

// Identical trivial work on both sides, so the numbers are engine overhead.
const Source = defineNode({ type: 'b/Source', title: 'Source', category: 'b', description: '', version: '1.0.0', inputs: {}, outputs: { v: { type: 'NUMBER' } }, execute: () => ({ v: 1 }) });
const Inc = defineNode({ type: 'b/Inc', title: 'Inc', category: 'b', description: '', version: '1.0.0', inputs: { a: { type: 'NUMBER' } }, outputs: { v: { type: 'NUMBER' } }, execute: ({ inputs }) => ({ v: inputs.a + 1 }) });
const Sum = defineNode({ type: 'b/Sum', title: 'Sum', category: 'b', description: '', version: '1.0.0', inputs: { a: { type: 'NUMBER', list: true } }, outputs: { v: { type: 'NUMBER' } }, execute: ({ inputs }) => ({ v: inputs.a.reduce((s, x) => s + x, 0) }) });
const engine = await createEngine({ plugins: [definePlugin({ name: 'b', version: '1.0.0', nodes: [Source, Inc, Sum] })] });

type Shape = 'chain' | 'fanout';
function tesseraGraph(shape: Shape, n: number) {
  const nodes: Record<string, unknown> = { s: { type: 'b/Source' } };
  if (shape === 'chain') {
    for (let i = 0; i < n - 1; i++) nodes[`n${i}`] = { type: 'b/Inc', inputs: { a: { node: i ? `n${i - 1}` : 's', output: 'v' } } };
  } else {
    for (let i = 0; i < n - 2; i++) nodes[`n${i}`] = { type: 'b/Inc', inputs: { a: { node: 's', output: 'v' } } };
    nodes.sum = { type: 'b/Sum', inputs: { a: Array.from({ length: n - 2 }, (_, i) => ({ node: `n${i}`, output: 'v' })) } };
  }
  return { format: 'tessera-graph', version: 1, nodes };
}

class RNode extends ClassicPreset.Node {
  constructor(readonly fn: (inputs: Record<string, number[]>) => number) {
    super('n');
  }
  data(inputs: Record<string, any>) {
    return { v: this.fn(inputs) };
  }
}
type Schemes = GetSchemes<RNode, ClassicPreset.Connection<RNode, RNode>>;
const socket = new ClassicPreset.Socket('n');

async function reteRun(shape: Shape, n: number): Promise<number> {
  const editor = new NodeEditor<Schemes>();
  // rete's scheme generics don't accept a subclass with its own data() signature; the runtime does.
  const df = new DataflowEngine<any>();
  editor.use(df as never);
  const mk = async (fn: (i: Record<string, number[]>) => number, hasInput: boolean) => {
    const node = new RNode(fn);
    if (hasInput) node.addInput('a', new ClassicPreset.Input(socket, 'a', true));
    node.addOutput('v', new ClassicPreset.Output(socket, 'v'));
    await editor.addNode(node);
    return node;
  };
  const src = await mk(() => 1, false);
  let last = src;
  if (shape === 'chain') {
    for (let i = 0; i < n - 1; i++) {
      const node = await mk((inp) => inp.a![0]! + 1, true);
      await editor.addConnection(new ClassicPreset.Connection(last, 'v', node, 'a'));
      last = node;
    }
  } else {
    const sum = await mk((inp) => inp.a!.reduce((s, x) => s + x, 0), true);
    for (let i = 0; i < n - 2; i++) {
      const node = await mk((inp) => inp.a![0]! + 1, true);
      await editor.addConnection(new ClassicPreset.Connection(src, 'v', node, 'a'));
      await editor.addConnection(new ClassicPreset.Connection(node, 'v', sum, 'a'));
    }
    last = sum;
  }
  const out = (await df.fetch(last.id)) as { v: number };
  return out.v;
}

async function tesseraRun(shape: Shape, n: number): Promise<void> {
  const g = tesseraGraph(shape, n);
  await lastValueFrom(engine.run(g, { useCache: false }).pipe(ignoreElements()), { defaultValue: undefined });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const rows: Record<string, unknown>[] = [];
for (const [shape, n] of [['chain', 1000], ['chain', 10_000], ['fanout', 10_000]] as [Shape, number][]) {
  const t: number[] = [];
  const r: number[] = [];
  let reteError: string | undefined;
  await tesseraRun(shape, n); // warm-up
  for (let i = 0; i < reps; i++) {
    t.push(await time(() => tesseraRun(shape, n)));
    if (!reteError) {
      try {
        r.push(await time(() => reteRun(shape, n)));
      } catch (e) {
        reteError = (e as Error).message;
      }
    }
  }
  const row = {
    graph: `${shape} ${n}`,
    tesseraMs: +median(t).toFixed(1),
    tesseraUsPerNode: +((median(t) * 1000) / n).toFixed(2),
    reteMs: reteError ? null : +median(r).toFixed(1),
    reteUsPerNode: reteError ? null : +((median(r) * 1000) / n).toFixed(2),
    ratio: reteError ? null : +(median(r) / median(t)).toFixed(2),
    ...(reteError ? { reteError } : {}),
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}

// Validation scaling (schema + semantics), including the graph check a run does first.
const scaling: Record<string, unknown>[] = [];
for (const n of [1000, 2000, 5000, 10_000, 20_000]) {
  const g = tesseraGraph('chain', n);
  engine.validate(g);
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) ts.push(await time(() => engine.validate(g)));
  const row = { nodes: n, validateMs: +median(ts).toFixed(2), usPerNode: +((median(ts) * 1000) / n).toFixed(2) };
  scaling.push(row);
  console.log(JSON.stringify(row));
}

const result = { date: new Date().toISOString(), node: process.version, reps, runs: rows, validation: scaling };
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2) + '\n');
