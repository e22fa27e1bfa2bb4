import type { GraphDocument } from '../graph/GraphDocument.ts';
import { pointer, type ValidationIssue } from '../graph/ValidationIssue.ts';
import { closestMatch } from '../util/closestMatch.ts';
import { isRecord, own } from '../util/own.ts';
import { quoteText } from '../util/quoteText.ts';
import { readGridSpec, readSeedList } from '../wire/gridSpec.ts';

export { splitTopLevel } from '../wire/gridSpec.ts';

/** One axis of a sweep: a param of a node and the values it takes. */
export interface GridAxis {
  readonly nodeId: string;
  /** The param path below `params` (`lr`, or `opt.beta1` for a nested one). */
  readonly path: readonly string[];
  readonly values: readonly unknown[];
}

/** The most runs one sweep may make (axes × seeds), so a typo cannot queue a million runs. */
export const MAX_SWEEP_RUNS = 10_000;
export const MAX_SEED = 4294967295;

/** What the grid checks need to know of the node types: the params each one declares. */
export type ParamNames = (nodeType: string) => readonly string[] | undefined;

/** The checked grid and seeds, and every problem found. */
export interface GridCheck {
  axes: GridAxis[];
  seeds: number[];
  issues: ValidationIssue[];
}

/**
 * Where a problem of one axis points, and how messages name the axis: the CLI points into the
 * graph (`/nodes/b/params/value`) and says `--grid "b.value"`; the API points into the request
 * body (`/grid/0/param`).
 */
interface AxisPlace {
  readonly name: string;
  readonly node: string;
  readonly param: string;
}

/** A structured axis of a request body (`POST /api/sweeps`): param `a.b` is a nested param. */
export interface GridEntry {
  readonly node: string;
  readonly param: string;
  readonly values: readonly unknown[];
}

/**
 * Reads `--grid node.param=a,b,c` specs and `--seeds 0,1,2` against `graph`, and returns every
 * problem at once (with JSON pointers into the graph where there is a place to point at), so
 * nothing runs until the whole sweep is sound. Values are read as JSON when they parse (`3`,
 * `true`, `"x"`, `[1,2]`) and as strings otherwise; commas inside brackets, braces or quotes do
 * not split values. Pure; node ids and params are user text, looked up as own keys only.
 * `paramNames` lists a node type's declared params (undefined: the type declares no schema, so
 * any name is taken and the engine's validation of each cell judges it).
 */
export function parseGrid(graph: GraphDocument, grid: readonly string[], seedsText: string | undefined, paramNames: ParamNames): GridCheck {
  const issues: ValidationIssue[] = [];
  const axes: GridAxis[] = [];
  const seen = new Set<string>();
  for (const spec of grid) {
    const read = readGridSpec(spec);
    if ('problem' in read && read.problem === 'expects') {
      issues.push({ code: 'invalid_override', pointer: '', message: `--grid expects node.param=a,b,c, got ${quoteText(spec)}` });
      continue;
    }
    const keys = 'problem' in read ? read.path! : [read.nodeId, ...read.path];
    const [nodeId, ...path] = keys as [string, ...string[]];
    const place = { name: `--grid ${quoteText(keys.join('.'))}`, node: pointer('nodes', nodeId), param: pointer('nodes', nodeId, 'params', ...path) };
    if ('problem' in read) {
      // Checked like any axis first, so an unknown node is named before an empty value.
      if (checkAxis(graph, { nodeId, path, values: [] }, place, paramNames, seen, issues)) {
        issues.push({ code: 'invalid_override', pointer: place.param, nodeId, message: `${place.name}: empty value in ${quoteText(spec.slice(spec.indexOf('=') + 1))} (values are separated by commas)` });
      }
      continue;
    }
    if (checkAxis(graph, read, place, paramNames, seen, issues)) axes.push(read);
  }
  const seeds = seedsText === undefined ? defaultSeeds(graph) : checkSeeds(readSeedList(seedsText), () => '', issues, '--seeds');
  capRuns(axes, seeds, issues);
  return { axes, seeds, issues };
}

/**
 * The grid and seeds of a request body, checked as {@link parseGrid} checks the CLI's, with
 * pointers into the body (`/grid/1/param`, `/seeds/2`). `seeds` absent: the graph's seed, else 0.
 */
export function checkGrid(graph: GraphDocument, grid: readonly GridEntry[], seeds: readonly number[] | undefined, paramNames: ParamNames): GridCheck {
  const issues: ValidationIssue[] = [];
  const axes: GridAxis[] = [];
  const seen = new Set<string>();
  grid.forEach((entry, i) => {
    const path = entry.param.split('.');
    const name = `grid[${i}] ${quoteText(`${entry.node}.${entry.param}`)}`;
    if (path.some((k) => k === '')) {
      issues.push({ code: 'invalid_override', pointer: pointer('grid', i, 'param'), message: `${name}: ${quoteText(entry.param)} is not a param path (names separated by dots)` });
      return;
    }
    const axis = { nodeId: entry.node, path, values: [...entry.values] };
    if (checkAxis(graph, axis, { name, node: pointer('grid', i, 'node'), param: pointer('grid', i, 'param') }, paramNames, seen, issues)) axes.push(axis);
  });
  const checked = seeds === undefined ? defaultSeeds(graph) : checkSeeds(seeds.map((value) => ({ value, text: String(value) })), (i) => pointer('seeds', i), issues, 'seeds');
  capRuns(axes, checked, issues);
  return { axes, seeds: checked, issues };
}

/** Checks one axis against the graph (node, declared param, repeats); returns whether it is sound. */
function checkAxis(graph: GraphDocument, axis: GridAxis, at: AxisPlace, paramNames: ParamNames, seen: Set<string>, issues: ValidationIssue[]): boolean {
  const { nodeId } = axis;
  const node = own(graph.nodes, nodeId);
  if (!isRecord(node)) {
    const near = closestMatch(nodeId, Object.keys(isRecord(graph.nodes) ? graph.nodes : {}));
    issues.push({ code: 'invalid_override', pointer: at.node, nodeId, message: `${at.name}: no node ${quoteText(nodeId)} in the graph${near ? ` (did you mean ${quoteText(near)}?)` : ''}` });
    return false;
  }
  const type = own(node, 'type');
  const known = typeof type === 'string' ? paramNames(type) : undefined;
  const param = axis.path[0]!;
  if (known && !known.includes(param)) {
    const near = closestMatch(param, known);
    issues.push({
      code: 'invalid_override', pointer: at.param, nodeId,
      message: `${at.name}: ${String(type)} has no param ${quoteText(param)}${near ? ` (did you mean ${quoteText(near)}?)` : ''}; its params: ${known.join(', ') || 'none'}`,
    });
    return false;
  }
  // A Set of JSON arrays: the key cannot be confused by dots inside node ids.
  const key = JSON.stringify([nodeId, ...axis.path]);
  if (seen.has(key)) {
    issues.push({ code: 'invalid_override', pointer: at.param, nodeId, message: `${at.name} is given twice` });
    return false;
  }
  seen.add(key);
  return true;
}

/** The seeds when none are given: the graph's seed, else 0 (what `tessera run` would use). */
function defaultSeeds(graph: GraphDocument): number[] {
  return [typeof graph.seed === 'number' ? graph.seed : 0];
}

/** Keeps the seeds that are integers in range and not repeated; reports the others. */
function checkSeeds(items: readonly { value: number; text: string }[], at: (index: number) => string, issues: ValidationIssue[], name: string): number[] {
  const seeds: number[] = [];
  items.forEach(({ value, text }, i) => {
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_SEED) issues.push({ code: 'invalid_override', pointer: at(i), message: `${name}: ${quoteText(text)} is not an integer in 0..${MAX_SEED}` });
    else if (seeds.includes(value)) issues.push({ code: 'invalid_override', pointer: at(i), message: `${name}: ${value} is given twice` });
    else seeds.push(value);
  });
  return seeds;
}

/** The run cap: a typo must not queue a million runs. */
function capRuns(axes: readonly GridAxis[], seeds: readonly number[], issues: ValidationIssue[]): void {
  const runs = axes.reduce((n, a) => n * a.values.length, 1) * Math.max(1, seeds.length);
  if (runs > MAX_SWEEP_RUNS) issues.push({ code: 'too_large', pointer: '', message: `the sweep would make ${runs} runs; at most ${MAX_SWEEP_RUNS} are allowed` });
}
