import type { GraphDocument } from '../graph/GraphDocument.ts';
import { applyOverrides } from '../graph/applyOverrides.ts';
import type { ValidationIssue } from '../graph/ValidationIssue.ts';
import { canonicalJson } from '../util/canonicalJson.ts';
import type { GridAxis } from './parseGrid.ts';

/** One param value of a cell. */
export interface CellParam {
  readonly node: string;
  readonly param: string;
  readonly value: unknown;
}

/** One run of a sweep: a point of the grid and a seed. */
export interface SweepCell {
  /** Position in the sweep (grid order, seeds innermost). */
  readonly index: number;
  /** Names the cell across re-runs of the sweep: its params and seed, canonical JSON. */
  readonly key: string;
  readonly params: readonly CellParam[];
  readonly seed: number;
  /** The graph with the cell's params set (the run's seed is `seed`). */
  readonly graph: GraphDocument;
}

/**
 * Every cell of the grid × seeds, in order (the first axis varies slowest, seeds fastest), each
 * with its graph; `issues` holds what applying a cell's params found (normally none: the grid was
 * checked by parseGrid). Pure.
 */
export function sweepCells(graph: GraphDocument, axes: readonly GridAxis[], seeds: readonly number[]): { cells: SweepCell[]; issues: ValidationIssue[] } {
  const cells: SweepCell[] = [];
  const issues: ValidationIssue[] = [];
  let points: CellParam[][] = [[]];
  for (const axis of axes) {
    const param = axis.path.join('.');
    points = points.flatMap((p) => axis.values.map((value) => [...p, { node: axis.nodeId, param, value }]));
  }
  for (const params of points) {
    // Through --set's own code, so a grid value means exactly what `--set` would make of it.
    const applied = applyOverrides(graph, params.map((p) => `${p.node}.${p.param}=${JSON.stringify(p.value)}`));
    issues.push(...applied.issues);
    for (const seed of seeds) {
      cells.push({ index: cells.length, key: canonicalJson({ params: params.map((p) => [p.node, p.param, p.value]), seed }), params, seed, graph: applied.graph });
    }
  }
  return { cells, issues };
}
