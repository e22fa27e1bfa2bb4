/**
 * Property-based fuzzing of graph validation, shared by the bounded test
 * (test/engine/hardening.validation.test.ts) and the long run (bench/fuzz/validate.fuzz.ts).
 *
 * Inputs: arbitrary JSON values, graph-shaped documents whose keys include prototype names, and
 * mutations of the bundled graphs/*.json (keys deleted or renamed to `__proto__`/`constructor`/…,
 * values replaced by null, numbers, arrays, objects, 100 KB strings or 300-level nesting).
 * Properties: validation never throws; issues are well-formed and capped; a graph that validates
 * also plans (`planRun`).
 */
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import type { Engine, ValidationIssue } from 'tessera';
import { parseGraph } from '../../core/graph/parseGraph.ts';
import { planRun } from '../../core/engine/planRun.ts';
import { GRAPH_LIMITS } from '../../core/graph/graphLimits.ts';

const graphsDir = new URL('../../graphs/', import.meta.url);

/** The bundled graphs, parsed. */
export const bundledGraphs: unknown[] = readdirSync(graphsDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(new URL(f, graphsDir), 'utf8')));

/** Names that reach Object.prototype through a plain lookup. */
export const PROTO_KEYS = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype', 'isPrototypeOf'];

const key = fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 12 }) }, { weight: 2, arbitrary: fc.constantFrom(...PROTO_KEYS) }, { weight: 1, arbitrary: fc.constantFrom('a', 'b', 'value', 'output', 'node', 'inputs', 'params', 'type') });

/** JSON whose object keys are often prototype names. */
export const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.string({ maxLength: 20 }),
    fc.constantFrom('core/Number', 'core/Add', 'core/Print', 'value', 'sum', ...PROTO_KEYS),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  ),
})).value;

const link = fc.record({ node: fc.oneof(fc.constantFrom('a', 'b', 'c', ...PROTO_KEYS), jsonish), output: fc.oneof(fc.constantFrom('value', 'sum', 'result', ...PROTO_KEYS), jsonish) }, { requiredKeys: [] });
const node = fc.record(
  {
    type: fc.oneof(fc.constantFrom('core/Number', 'core/Add', 'core/Print', 'core/Math', 'core/Nmber', 'x/Y'), jsonish),
    params: fc.oneof(fc.dictionary(key, jsonish, { maxKeys: 3 }), jsonish),
    inputs: fc.oneof(fc.dictionary(key, fc.oneof(link, fc.array(link, { maxLength: 3 }), jsonish), { maxKeys: 3 }), jsonish),
    disabled: fc.oneof(fc.boolean(), jsonish),
  },
  { requiredKeys: [] },
);

/** Documents shaped like graphs (mostly), with ids and ports drawn from prototype names too. */
export const graphish: fc.Arbitrary<unknown> = fc.record(
  {
    format: fc.oneof(fc.constant('tessera-graph'), jsonish),
    version: fc.oneof(fc.constantFrom(0, 1, 2), jsonish),
    nodes: fc.oneof({ weight: 4, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom('a', 'b', 'c'), key), node, { maxKeys: 4 }) }, { weight: 1, arbitrary: fc.array(fc.oneof(node, fc.record({ id: jsonish, type: jsonish })), { maxLength: 3 }) }, { weight: 1, arbitrary: jsonish }),
    seed: jsonish,
  },
  { requiredKeys: ['nodes'] },
);

/** One edit of a document at a path picked by `at` (an index into all of its paths). */
export type Mutation =
  | { op: 'delete'; at: number }
  | { op: 'replace'; at: number; with: 'null' | 'number' | 'array' | 'object' | 'bool' | 'string' | 'huge' | 'deep' | 'json'; json?: unknown }
  | { op: 'rename'; at: number; to: string }
  | { op: 'add'; at: number; key: string; json: unknown };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), with: fc.constantFrom('null', 'number', 'array', 'object', 'bool', 'string', 'huge', 'deep', 'json') as fc.Arbitrary<'null'>, json: jsonish }),
  fc.record({ op: fc.constant('rename' as const), at: fc.nat(), to: fc.constantFrom(...PROTO_KEYS, 'a', '') }),
  fc.record({ op: fc.constant('add' as const), at: fc.nat(), key: fc.oneof(fc.constantFrom(...PROTO_KEYS), key), json: jsonish }),
);

/** A bundled graph and one to four edits of it. */
export const mutant = fc.record({ graph: fc.nat({ max: bundledGraphs.length - 1 }), edits: fc.array(mutation, { minLength: 1, maxLength: 4 }) });

/** Objects and arrays alternating `levels` deep around `leaf`, built without recursion. */
export function nested(levels: number, leaf: unknown = 1): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

function replacement(m: Extract<Mutation, { op: 'replace' }>): unknown {
  switch (m.with) {
    case 'null': return null;
    case 'number': return 5;
    case 'array': return [1, 'x'];
    case 'object': return {};
    case 'bool': return true;
    case 'string': return 'x';
    case 'huge': return 'x'.repeat(100 * 1024);
    case 'deep': return nested(300);
    case 'json': return m.json;
  }
}

/** Every container and the key under it, document order (the root has no key). */
function paths(doc: unknown): { parent: Record<string, unknown> | unknown[]; key: string | number }[] {
  const out: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const stack: unknown[] = [doc];
  while (stack.length) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        out.push({ parent: v, key: i });
        stack.push(x);
      });
    } else if (v && typeof v === 'object') {
      for (const k of Object.keys(v)) {
        out.push({ parent: v as Record<string, unknown>, key: k });
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
  }
  return out;
}

function define(parent: Record<string, unknown> | unknown[], k: string | number, value: unknown): void {
  Object.defineProperty(parent, k, { value, writable: true, enumerable: true, configurable: true });
}

/** Applies the edits to a deep copy of the bundled graph. */
export function applyMutant(m: { graph: number; edits: Mutation[] }): unknown {
  const doc = structuredClone(bundledGraphs[m.graph]) as Record<string, unknown>;
  for (const e of m.edits) {
    const all = paths(doc);
    if (!all.length) break;
    const { parent, key: k } = all[e.at % all.length]!;
    if (e.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(k), 1);
      else delete parent[k as string];
    } else if (e.op === 'replace') define(parent, k, replacement(e));
    else if (e.op === 'rename' && !Array.isArray(parent)) {
      const value = parent[k as string];
      delete parent[k as string];
      define(parent, e.to, value);
    } else if (e.op === 'add') {
      const target = (Array.isArray(parent) ? parent[Number(k)] : parent[k as string]) ?? parent;
      if (target && typeof target === 'object' && !Array.isArray(target)) define(target as Record<string, unknown>, e.key, e.json);
    }
  }
  return doc;
}

/** What is wrong with one validation outcome, or undefined. */
function malformed(issues: unknown): string | undefined {
  if (!Array.isArray(issues)) return 'issues is not an array';
  if (issues.length > GRAPH_LIMITS.issues + 1) return `${issues.length} issues, over the cap`;
  for (const i of issues as ValidationIssue[]) {
    if (typeof i.code !== 'string' || typeof i.message !== 'string' || typeof i.pointer !== 'string') return `malformed issue ${JSON.stringify(i)}`;
    if (i.pointer !== '' && !i.pointer.startsWith('/')) return `pointer ${i.pointer} is not a JSON pointer`;
    if (i.message.length > 2000) return `a ${i.message.length}-character message`;
  }
  return undefined;
}

/**
 * The property for one document: validating it (as an object, and as file text through
 * parseGraph) never throws, gives well-formed capped issues, and a graph that validates plans.
 * Throws (with the reason) when it does not hold.
 */
export function checkDocument(engine: Engine, doc: unknown): void {
  const issues = engine.validate(doc);
  const bad = malformed(issues);
  if (bad) throw new Error(`validate: ${bad}`);
  if (issues.length === 0) planRun(doc as never, engine.registry);
  let text: string | undefined;
  try {
    text = JSON.stringify(doc);
  } catch {
    return; // deeper than JSON.stringify goes: there is no file text to test
  }
  if (text === undefined) return;
  const parsed = parseGraph(text);
  const badParse = malformed(parsed.issues);
  if (badParse) throw new Error(`parseGraph: ${badParse}`);
  if (parsed.graph) {
    const again = engine.validate(parsed.graph);
    const badAgain = malformed(again);
    if (badAgain) throw new Error(`validate after parse: ${badAgain}`);
    if (parsed.issues.length === 0 && again.length === 0) planRun(parsed.graph, engine.registry);
  }
}
