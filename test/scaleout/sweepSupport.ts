import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from 'tessera';
import type { GraphDocument } from '../../core/graph/GraphDocument.ts';
import { toWireValue } from '../../core/util/summarizeValue.ts';
import { graph } from '../server/helpers.ts';

/** A small seed-dependent graph: a random draw, delayed, plus a constant the grid varies. */
export function sweepGraph(delayMs: number, steps = 5): Record<string, unknown> {
  return graph({
    a: { type: 'core/Random', params: { min: 0, max: 100 } },
    b: { type: 'core/Number', params: { value: 5 } },
    wait: { type: 'core/Delay', params: { ms: delayMs, steps }, inputs: { value: { node: 'a', output: 'value' } } },
    sum: { type: 'core/Add', inputs: { a: { node: 'wait', output: 'value' }, b: { node: 'b', output: 'value' } } },
  }, { name: 'sweep-test' });
}

/** Writes `g` as a graph file in `dir`. */
export function writeGraph(dir: string, g: Record<string, unknown>, name = 'g.json'): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(g));
  return file;
}

/** The run:done results of one run in this process, in wire form: the reference a sweep's run must equal. */
export async function runOnce(engine: Engine, g: GraphDocument | Record<string, unknown>, seed: number): Promise<Record<string, unknown>> {
  let results: Record<string, unknown> | undefined;
  await new Promise<void>((resolve, reject) =>
    engine.run(g, { seed }).subscribe({ next: (e) => { if (e.type === 'run:done') results = toWireValue(e.results) as Record<string, unknown>; }, error: reject, complete: resolve }),
  );
  if (!results) throw new Error('the reference run did not end done');
  return results;
}

/** An io that keeps what the command prints. */
export function captureIo(): { io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }; text: () => string } {
  let out = '';
  const sink = { write: (chunk: string | Uint8Array) => ((out += String(chunk)), true) } as unknown as NodeJS.WritableStream;
  return { io: { stdout: sink, stderr: sink }, text: () => out };
}
