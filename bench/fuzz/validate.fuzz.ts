/**
 * Long fuzz run of graph validation (the test suite runs a bounded version): arbitrary JSON,
 * graph-shaped documents with prototype-named keys, and mutations of graphs/*.json, each checked
 * by `checkDocument` (validate never throws, issues are well-formed and capped, a graph that
 * validates plans). Prints each property's outcome and the counterexample of any failure.
 *
 *   node --import tsx bench/fuzz/validate.fuzz.ts [--runs 20000] [--seed N]
 */
import fc from 'fast-check';
import { createEngine } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { applyMutant, checkDocument, graphish, jsonish, mutant } from './graphFuzz.ts';

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : undefined);
const runs = option('--runs') ?? 20_000;
const seed = option('--seed') ?? Date.now() % 2 ** 31;

const engine = await createEngine({ plugins: builtinPlugins });
/** Checks one property; the outcome in a form that prints. */
function check<T>(arbitrary: fc.Arbitrary<T>, holds: (value: T) => void): { failed: boolean; numRuns: number; report?: string } {
  const result = fc.check(fc.property(arbitrary, holds), { numRuns: runs, seed });
  return { failed: result.failed, numRuns: result.numRuns, ...(result.failed ? { report: fc.defaultReportMessage(result) ?? '' } : {}) };
}

const properties: [string, () => ReturnType<typeof check>][] = [
  ['arbitrary JSON', () => check(jsonish, (d) => checkDocument(engine, d))],
  ['graph-shaped documents', () => check(graphish, (d) => checkDocument(engine, d))],
  ['mutations of graphs/*.json', () => check(mutant, (m) => checkDocument(engine, applyMutant(m)))],
];
let failed = 0;
console.log(`seed ${seed}, ${runs} runs per property`);
for (const [name, run] of properties) {
  const start = performance.now();
  const result = run();
  const ms = Math.round(performance.now() - start);
  if (result.failed) failed++;
  console.log(`${result.failed ? 'FAIL' : 'ok  '} ${name}: ${result.numRuns} runs in ${ms} ms`);
  if (result.report) console.log(result.report);
}
process.exitCode = failed ? 1 : 0;
