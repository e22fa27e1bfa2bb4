/**
 * Runs one engine-bench graph many times, for a CPU profile of where the engine's time goes:
 *
 *   node --cpu-prof --cpu-prof-dir /tmp/prof --import ./core/loader/register.mjs \
 *     bench/engine/profile.ts [--shape dag] [--nodes 10000] [--reps 8] [--part run|validate|plan]
 *
 * Prints the median CPU ms per repetition (after two warm-up runs).
 */
import { lastValueFrom, ignoreElements } from 'rxjs';
import * as tessera from 'tessera';
import { makeEngine, tesseraGraph, type Shape } from './graphs.ts';

const args = process.argv.slice(2);
const arg = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const shape = (arg('--shape') ?? 'dag') as Shape;
const n = Number(arg('--nodes') ?? 10_000);
const reps = Number(arg('--reps') ?? 8);
const part = arg('--part') ?? 'run';

const { engine, planRun } = await makeEngine(tessera);
const g = tesseraGraph(shape, n);
const once = async () => {
  if (part === 'validate') engine.validate(g);
  else if (part === 'plan') planRun(g as never, engine.registry);
  else await lastValueFrom(engine.run(g, { useCache: false }).pipe(ignoreElements()), { defaultValue: undefined });
};
const cpu: number[] = [];
for (let i = 0; i < reps + 2; i++) {
  const c = process.cpuUsage();
  await once();
  const { user, system } = process.cpuUsage(c);
  if (i >= 2) cpu.push((user + system) / 1000);
}
cpu.sort((a, b) => a - b);
console.log(JSON.stringify({ shape, nodes: n, part, reps, medianCpuMs: +cpu[Math.floor(cpu.length / 2)]!.toFixed(1), minCpuMs: +cpu[0]!.toFixed(1) }));
