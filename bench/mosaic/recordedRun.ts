/**
 * What a bench script finds in a run folder it is about to (re)use: the CLI writes the resolved
 * graph (graph file + `--set`s) to graph.json when it claims the folder, so comparing that record
 * with what would run now tells a resumable or finished run of the same settings from a stale one
 * (other steps, pairs, β, τ, arm definition or graph edits) without a side file.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { applyOverrides, type GraphDocument } from 'tessera';
import { canonicalJson } from '../../core/util/canonicalJson.ts';
import { isRunDone } from './benchArgs.ts';

export type RecordedRun =
  | { state: 'none' }
  | { state: 'same'; done: boolean; startedAt: number | null }
  | { state: 'different'; nodes: string[] };

/** Compares the record in `dir` with `graphFile` under `sets` (node ids whose type, inputs or params differ). */
export async function recordedRun(dir: string, graphFile: string, sets: readonly string[]): Promise<RecordedRun> {
  const recorded = await readFile(join(dir, 'graph.json'), 'utf8').then((t) => JSON.parse(t) as GraphDocument, () => null);
  if (!recorded) return { state: 'none' };
  const { graph, issues } = applyOverrides(JSON.parse(await readFile(graphFile, 'utf8')) as GraphDocument, sets);
  if (issues.length) throw new Error(`${graphFile}: ${issues.map((i) => i.message).join('; ')}`);
  const ids = new Set([...Object.keys(graph.nodes), ...Object.keys(recorded.nodes ?? {})]);
  const differs = (id: string) => canonicalJson(Object.hasOwn(graph.nodes, id) ? graph.nodes[id] : null) !== canonicalJson(Object.hasOwn(recorded.nodes ?? {}, id) ? recorded.nodes[id] : null);
  const nodes = [...ids].filter(differs);
  if (nodes.length) return { state: 'different', nodes };
  const run = await readFile(join(dir, 'run.json'), 'utf8').then((t) => JSON.parse(t) as { startedAt?: string }, () => null);
  const startedAt = run?.startedAt ? Date.parse(run.startedAt) : null;
  return { state: 'same', done: await isRunDone(join(dir, 'run.json')), startedAt: Number.isFinite(startedAt) ? startedAt : null };
}

/**
 * Whether the finished run in `dir` is `graphFile` under `sets` and started after every file in
 * `inputs` was last written (an evaluation of weights that were retrained since is stale).
 */
export async function isReusable(dir: string, graphFile: string, sets: readonly string[], inputs: readonly string[] = []): Promise<boolean> {
  const r = await recordedRun(dir, graphFile, sets);
  if (r.state !== 'same' || !r.done || r.startedAt === null) return false;
  for (const f of inputs) {
    const written = await stat(f).then((st) => st.mtimeMs, () => Infinity); // missing: rerun, which reports it
    if (written > r.startedAt) return false;
  }
  return true;
}

/** Throws when `dir` holds a run (finished or interrupted) of other settings: resuming or reusing it would mix them. */
export async function refuseDifferentRun(dir: string, graphFile: string, sets: readonly string[]): Promise<RecordedRun> {
  const r = await recordedRun(dir, graphFile, sets);
  if (r.state === 'different') {
    throw new Error(`${dir} holds a run of other settings (nodes ${r.nodes.join(', ')} differ from ${graphFile} with ${sets.join(' ') || 'no --set'}); use another --out, or delete that run and its -ckpt folder to start it over`);
  }
  return r;
}
