// Worker entry for generateToDisk: receives chunks of sample requests, writes the files, and
// answers with their manifest entries.
import { parentPort, workerData } from 'node:worker_threads';
import { writeSample } from './files.ts';
import { type GeneratorConfig, generateSample, type SampleRequest } from './sample.ts';

const { root, config } = workerData as { root: string; config: GeneratorConfig };

parentPort!.on('message', (msg: { requests: SampleRequest[] }) => {
  try {
    const entries = [];
    for (const r of msg.requests) entries.push(writeSample(root, generateSample(config, r)));
    parentPort!.postMessage({ entries });
  } catch (e) {
    parentPort!.postMessage({ error: (e as Error).stack ?? String(e) });
  }
});
