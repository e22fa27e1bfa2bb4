import type { GraphDocument } from '../graph/GraphDocument.ts';
import { pointer, type ValidationIssue } from '../graph/ValidationIssue.ts';
import { closestMatch } from '../util/closestMatch.ts';
import { isRecord, own } from '../util/own.ts';
import { quoteText } from '../util/quoteText.ts';

/** One axis of a sweep: a param of a node and the values it takes. */
export interface GridAxis {
  readonly nodeId: string;
  /** The param path below `params` (`lr`, or `opt.beta1` for a nested one). */
  readonly path: readonly string[];
  readonly values: readonly unknown[];
}

/** The most runs one sweep may make (axes × seeds), so a typo cannot queue a million runs. */
export const MAX_SWEEP_RUNS = 10_000;
const MAX_SEED = 4294967295;

/** What {@link parseGrid} needs to know of the node types: the params each one declares. */
export type ParamNames = (nodeType: string) => readonly string[] | undefined;

/**
 * Reads `--grid node.param=a,b,c` specs and `--seeds 0,1,2` against `graph`, and returns every
 * problem at once (with JSON pointers into the graph where there is a place to point at), so
 * nothing runs until the whole sweep is sound. Values are read as JSON when they parse (`3`,
 * `true`, `"x"`, `[1,2]`) and as strings otherwise; commas inside brackets, braces or quotes do
 * not split values. Pure; node ids and params are user text, looked up as own keys only.
 * `paramNames` lists a node type's declared params (undefined: the type declares no schema, so
 * any name is taken and the engine's validation of each cell judges it).
 */
export function parseGrid(graph: GraphDocument, grid: readonly string[], seedsText: string | undefined, paramNames: ParamNames): { axes: GridAxis[]; seeds: number[]; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  const axes: GridAxis[] = [];
  const seen = new Set<string>();
  for (const spec of grid) {
    const eq = spec.indexOf('=');
    const path = eq > 0 ? spec.slice(0, eq) : '';
    const keys = path.split('.');
    if (eq <= 0 || keys.length < 2 || keys.some((k) => k === '')) {
      issues.push({ code: 'invalid_override', pointer: '', message: `--grid expects node.param=a,b,c, got ${quoteText(spec)}` });
      continue;
    }
    const [nodeId, ...paramPath] = keys as [string, ...string[]];
    const node = own(graph.nodes, nodeId);
    if (!isRecord(node)) {
      const near = closestMatch(nodeId, Object.keys(isRecord(graph.nodes) ? graph.nodes : {}));
      issues.push({ code: 'invalid_override', pointer: pointer('nodes', nodeId), nodeId, message: `--grid ${quoteText(path)}: no node ${quoteText(nodeId)} in the graph${near ? ` (did you mean ${quoteText(near)}?)` : ''}` });
      continue;
    }
    const type = own(node, 'type');
    const known = typeof type === 'string' ? paramNames(type) : undefined;
    const param = paramPath[0]!;
    if (known && !known.includes(param)) {
      const near = closestMatch(param, known);
      issues.push({
        code: 'invalid_override', pointer: pointer('nodes', nodeId, 'params', param), nodeId,
        message: `--grid ${quoteText(path)}: ${String(type)} has no param ${quoteText(param)}${near ? ` (did you mean ${quoteText(near)}?)` : ''}; its params: ${known.join(', ') || 'none'}`,
      });
      continue;
    }
    if (seen.has(path)) {
      issues.push({ code: 'invalid_override', pointer: pointer('nodes', nodeId, 'params', ...paramPath), nodeId, message: `--grid ${quoteText(path)} is given twice` });
      continue;
    }
    seen.add(path);
    const items = splitTopLevel(spec.slice(eq + 1));
    if (items.some((v) => v.trim() === '')) {
      issues.push({ code: 'invalid_override', pointer: pointer('nodes', nodeId, 'params', ...paramPath), nodeId, message: `--grid ${quoteText(path)}: empty value in ${quoteText(spec.slice(eq + 1))} (values are separated by commas)` });
      continue;
    }
    axes.push({ nodeId, path: paramPath, values: items.map(parseValue) });
  }
  const seeds = parseSeeds(seedsText, graph, issues);
  const runs = axes.reduce((n, a) => n * a.values.length, 1) * Math.max(1, seeds.length);
  if (runs > MAX_SWEEP_RUNS) issues.push({ code: 'too_large', pointer: '', message: `the sweep would make ${runs} runs; at most ${MAX_SWEEP_RUNS} are allowed` });
  return { axes, seeds, issues };
}

/** `--seeds 0,1,2`; absent: the graph's seed, else 0 (what `tessera run` would use). */
function parseSeeds(text: string | undefined, graph: GraphDocument, issues: ValidationIssue[]): number[] {
  if (text === undefined) return [typeof graph.seed === 'number' ? graph.seed : 0];
  const seeds: number[] = [];
  for (const item of text.split(',')) {
    const n = /^\s*\d+\s*$/.test(item) ? Number(item) : NaN;
    if (!Number.isSafeInteger(n) || n > MAX_SEED) issues.push({ code: 'invalid_override', pointer: '', message: `--seeds: ${quoteText(item)} is not an integer in 0..${MAX_SEED}` });
    else if (seeds.includes(n)) issues.push({ code: 'invalid_override', pointer: '', message: `--seeds: ${n} is given twice` });
    else seeds.push(n);
  }
  return seeds;
}

/** Splits at commas that are not inside brackets, braces or a JSON string. */
export function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '[' || c === '{') depth++;
    else if ((c === ']' || c === '}') && depth > 0) depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text; // not JSON: a plain string, as `--set` reads it
  }
}
