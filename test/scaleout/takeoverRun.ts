import type { Engine } from 'tessera';
import type { GraphDocument } from '../../core/graph/GraphDocument.ts';
import { toWireValue } from '../../core/util/summarizeValue.ts';

/** Checkpoint interval of the takeover tests' training run. */
export const EVERY = 20;

/** The takeover tests' run: a tiny latent autoencoder trained on SemAlign samples (a few seconds), checkpointing every EVERY steps. */
export function trainGraph(steps: number, name: string): GraphDocument {
  return {
    format: 'tessera-graph', version: 1, name,
    nodes: {
      data: { type: 'semalign/Generate', params: { seed: 1, train: 12, val: 0, test: 0, kMin: 1, kMax: 2, dip: 'none', write: false } },
      ae: { type: 'latent/Autoencoder', params: { preset: 'tiny' } },
      loss: { type: 'latent/SubjectLoss', params: { subjectWeight: 1, backgroundWeight: 0.2 }, inputs: { model: { node: 'ae', output: 'model' } } },
      train: {
        type: 'train/Train',
        params: { steps, batchSize: 2, lr: 0.002, warmupSteps: 2, checkpointEvery: EVERY, seed: 3, weightsFile: 'weights.safetensors' },
        inputs: { model: { node: 'loss', output: 'model' }, data: { node: 'data', output: 'samples' } },
      },
    },
  } as unknown as GraphDocument;
}

/** The uninterrupted run of `graph` in this process: its end and the seconds its training loop took. */
export async function referenceRun(engine: Engine, graph: GraphDocument, outDir: string): Promise<{ status: string; seconds: number }> {
  let status = '';
  let seconds = NaN;
  await new Promise<void>((resolve, reject) =>
    engine.run(graph, { seed: 0, outDir }).subscribe({
      next: (e) => {
        if (!e.type.startsWith('run:')) return;
        status = e.type;
        if (e.type !== 'run:done') return;
        const summary = (toWireValue(e.results) as { train?: { summary?: { seconds?: unknown } } }).train?.summary;
        if (typeof summary?.seconds === 'number') seconds = summary.seconds;
      },
      error: reject,
      complete: resolve,
    }),
  );
  return { status, seconds };
}
