/**
 * Engine overhead benchmark: tessera's executor next to rete-engine's DataflowEngine on the same
 * graphs (chain, fan-out/fan-in, seeded random DAG at 100, 1k and 10k nodes), in one process,
 * interleaved, medians over repetitions. tessera's figure is `engine.run` to its last event, so it
 * includes validation, planning and the full event stream; validation and planning are also
 * timed on their own. `--base DIR` adds a second tessera (another checkout, e.g. a `git worktree`
 * of the commit before a change) to every repetition, for paired before/after ratios on a busy
 * machine.
 *
 *   node --import ./core/loader/register.mjs bench/engine/engine.bench.ts \
 *     [--reps 5] [--sizes 100,1000,10000] [--shapes chain,fanout,dag] [--no-rete] \
 *     [--base /tmp/engine-base] [--json out.json]
 *
 * Figures are recorded in docs/engine.md.
 */
import { ClassicPreset, NodeEditor, type GetSchemes } from 'rete';
import { DataflowEngine } from 'rete-engine';
import { lastValueFrom, ignoreElements } from 'rxjs';
import * as tessera from 'tessera';
import { writeFileSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { edgesOf, makeEngine, tesseraGraph, type Api, type Shape, type Tessera } from './graphs.ts';

const args = process.argv.slice(2);
const arg = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const reps = Number(arg('--reps') ?? 5) || 5;
const sizes = (arg('--sizes') ?? '100,1000,10000').split(',').map(Number);
const shapes = (arg('--shapes') ?? 'chain,fanout,dag').split(',') as Shape[];
const withRete = !args.includes('--no-rete');
const baseDir = arg('--base');
const jsonOut = arg('--json');

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

/** The same graph built in a rete editor and evaluated by DataflowEngine (every sink fetched). */
async function reteRun(shape: Shape, n: number): Promise<void> {
  const editor = new NodeEditor<Schemes>();
  // rete's scheme generics don't accept a subclass with its own data() signature; the runtime does.
  const df = new DataflowEngine<any>();
  editor.use(df as never);
  const { edges } = edgesOf(shape, n);
  const nodes: RNode[] = [];
  const hasConsumer = new Uint8Array(n);
  for (const [f] of edges) hasConsumer[f] = 1;
  for (let i = 0; i < n; i++) {
    const node = new RNode(i === 0 ? () => 1 : (inp) => inp.a!.reduce((s, x) => s + x, 0) % 1e9);
    if (i > 0) node.addInput('a', new ClassicPreset.Input(socket, 'a', true));
    node.addOutput('v', new ClassicPreset.Output(socket, 'v'));
    await editor.addNode(node);
    nodes.push(node);
  }
  for (const [f, t] of edges) await editor.addConnection(new ClassicPreset.Connection(nodes[f]!, 'v', nodes[t]!, 'a'));
  for (let i = 0; i < n; i++) if (!hasConsumer[i]) await df.fetch(nodes[i]!.id);
}

async function tesseraRun(t: Tessera, g: unknown): Promise<void> {
  await lastValueFrom(t.engine.run(g, { useCache: false }).pipe(ignoreElements()), { defaultValue: undefined });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/**
 * Wall time and this process's CPU time (all its threads, so GC helpers count) of one call, in
 * ms. On a machine shared with other work the CPU time is the steadier figure: wall time also
 * counts the time the scheduler gave to someone else. With `batch`, the mean of that many calls
 * in a row: one 100-node run takes well under a millisecond, so a single timing of it is mostly
 * whichever GC pause happens to land in it.
 */
async function time(fn: () => Promise<unknown> | unknown, batch = 1): Promise<{ wall: number; cpu: number }> {
  const c = process.cpuUsage();
  const t = performance.now();
  for (let k = 0; k < batch; k++) await fn();
  const wall = (performance.now() - t) / batch;
  const { user, system } = process.cpuUsage(c);
  return { wall, cpu: (user + system) / 1000 / batch };
}

const head = await makeEngine(tessera);
const variants: { name: string; t: Tessera }[] = [{ name: 'tessera', t: head }];
if (baseDir) variants.push({ name: 'base', t: await makeEngine((await import(pathToFileURL(resolve(baseDir, 'core/index.ts')).href)) as Api) });

// Every shape must end in run:done, checked once per variant so the bench never times a failed run.
for (const v of variants) {
  for (const shape of shapes) {
    const last = await lastValueFrom(v.t.engine.run(tesseraGraph(shape, 100), { useCache: false }));
    if (last.type !== 'run:done') throw new Error(`${v.name}: benchmark graph did not run: ${JSON.stringify(last).slice(0, 500)}`);
  }
}

// JIT warm-up on every shape at 1,000 nodes, so the first rows don't pay for compilation.
for (let i = 0; i < 5; i++) for (const v of variants) for (const shape of shapes) await tesseraRun(v.t, tesseraGraph(shape, 1000));
if (withRete) for (const shape of shapes) await reteRun(shape, 1000);

const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
const flags = (/flags\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').split(' ').filter((f) => /^(avx|fma|sse4)/.test(f));
const loadBefore = loadavg();
console.log(JSON.stringify({ cpu, flags: flags.join(' '), node: process.version, reps, loadavg: loadBefore.map((x) => +x.toFixed(2)) }));

const rows: Record<string, unknown>[] = [];
for (const shape of shapes) {
  for (const n of sizes) {
    const g = tesseraGraph(shape, n);
    const times = new Map<string, number[]>();
    const push = (k: string, ms: number) => (times.get(k) ?? times.set(k, []).get(k)!).push(ms);
    const add = (k: string, t: { wall: number; cpu: number }) => {
      push(k, t.wall);
      push(`${k}.cpu`, t.cpu);
    };
    for (const v of variants) await tesseraRun(v.t, g); // warm-up
    // rete at 10k nodes takes seconds per repetition; fewer of them keep the bench under an hour.
    const reteReps = n >= 10_000 ? Math.min(reps, 3) : reps;
    let reteError: string | undefined;
    // Each timed sample covers about 10,000 node executions (100 runs of a 100-node graph, one of
    // a 10k graph), so small graphs pay their share of GC instead of a random pause.
    const batch = Math.max(1, Math.floor(10_000 / n));
    for (let i = 0; i < reps; i++) {
      // Rotate the order each repetition, so neither side always runs right after a GC-heavy rival.
      const order = i % 2 ? [...variants].reverse() : variants;
      for (const v of order) {
        add(`${v.name}.validate`, await time(() => v.t.engine.validate(g), batch));
        add(`${v.name}.plan`, await time(() => v.t.planRun(g as never, v.t.engine.registry), batch));
        add(`${v.name}.run`, await time(() => tesseraRun(v.t, g), batch));
      }
      if (withRete && !reteError && i < reteReps) {
        try {
          add('rete', await time(() => reteRun(shape, n), batch));
        } catch (e) {
          reteError = (e as Error).message;
        }
      }
    }
    const ms = (k: string) => (times.has(k) ? +median(times.get(k)!).toFixed(2) : null);
    const us = (k: string) => (times.has(k) ? +((median(times.get(k)!) * 1000) / n).toFixed(2) : null);
    // Per node figures and ratios use CPU time; wall-clock medians are kept alongside.
    const row: Record<string, unknown> = { graph: `${shape} ${n}`, nodes: n, runsPerSample: batch };
    for (const v of variants) {
      row[`${v.name}ValidateCpuMs`] = ms(`${v.name}.validate.cpu`);
      row[`${v.name}PlanCpuMs`] = ms(`${v.name}.plan.cpu`);
      row[`${v.name}RunCpuMs`] = ms(`${v.name}.run.cpu`);
      row[`${v.name}RunWallMs`] = ms(`${v.name}.run`);
      row[`${v.name}UsPerNode`] = us(`${v.name}.run.cpu`);
    }
    if (baseDir) {
      // Paired: the ratio of each repetition's base/head, then the median of those ratios.
      const h = times.get('tessera.run.cpu')!;
      const b = times.get('base.run.cpu')!;
      row.baseOverHeadPaired = +median(h.map((x, i) => b[i]! / x)).toFixed(2);
    }
    if (withRete) {
      row.reteCpuMs = ms('rete.cpu');
      row.reteWallMs = ms('rete');
      row.reteUsPerNode = us('rete.cpu');
      row.reteOverTessera = times.has('rete') ? +(median(times.get('rete.cpu')!) / median(times.get('tessera.run.cpu')!)).toFixed(1) : null;
      if (reteError) row.reteError = reteError;
    }
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}

const loadAfter = loadavg();
console.log(JSON.stringify({ loadavgAfter: loadAfter.map((x) => +x.toFixed(2)) }));
const result = { date: new Date().toISOString(), cpu, flags, node: process.version, reps, loadavg: { before: loadBefore, after: loadAfter }, base: baseDir ?? null, runs: rows };
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2) + '\n');
