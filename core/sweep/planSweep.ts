import type { Engine } from '../engine/Engine.ts';
import type { GraphDocument } from '../graph/GraphDocument.ts';
import type { ValidationIssue } from '../graph/ValidationIssue.ts';
import { isRecord } from '../util/own.ts';
import type { GridAxis, GridCheck, ParamNames } from './parseGrid.ts';
import { sweepCells, type SweepCell } from './sweepCells.ts';

/** A sweep checked whole: its axes, seeds and cells, or every problem found. */
export interface CheckedSweep {
  readonly axes: GridAxis[];
  readonly seeds: number[];
  readonly cells: SweepCell[];
  /** Empty when the sweep may run. */
  readonly issues: ValidationIssue[];
}

/**
 * Checks a sweep before anything runs, as `tessera sweep` and `POST /api/sweeps` both do: the
 * graph (the engine's validation), the grid and seeds (`readGrid`: the CLI's specs or a request
 * body, given the params each node type declares), then each cell's graph as it will run (a value
 * a param's schema refuses is found now, not mid-sweep). Grid problems are reported before the
 * cells are built, so one bad axis does not bury them under a cell per value.
 */
export function planSweep(engine: Engine, graph: GraphDocument, readGrid: (paramNames: ParamNames) => GridCheck): CheckedSweep {
  const issues: ValidationIssue[] = [...engine.validate(graph)];
  // Declared params by node type (a Map: types are plugin text, looked up by exact name).
  const declared = new Map(engine.describeNodes().map((d) => [d.type, isRecord(d.params) && isRecord(d.params.properties) ? Object.keys(d.params.properties) : undefined]));
  const grid = readGrid((type) => declared.get(type));
  issues.push(...grid.issues);
  if (issues.length) return { axes: grid.axes, seeds: grid.seeds, cells: [], issues };
  const { cells, issues: applied } = sweepCells(graph, grid.axes, grid.seeds);
  issues.push(...applied);
  const checked = new Set<SweepCell['graph']>();
  for (const c of cells) {
    if (checked.has(c.graph)) continue;
    checked.add(c.graph);
    const where = c.params.map((p) => `${p.node}.${p.param}=${JSON.stringify(p.value)}`).join(' ');
    for (const i of engine.validate(c.graph)) issues.push({ ...i, message: `with ${where}: ${i.message}` });
  }
  return { axes: grid.axes, seeds: grid.seeds, cells: issues.length ? [] : cells, issues };
}
