import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadSafetensors } from 'tessera/kernels';
import { tempDir } from '../semalign/helpers.ts';

const root = resolve(import.meta.dirname, '../..');

/** A tiny MOSAIC training graph with checkpoints every 10 of 40 steps into `ckpt`. */
function graph(ckpt: string) {
  return {
    format: 'tessera-graph',
    version: 1,
    name: 'mosaic-resume',
    nodes: {
      data: { type: 'semalign/Generate', params: { seed: 1, train: 24, val: 0, test: 0, kMin: 1, kMax: 3, dip: 'none', write: false } },
      model: { type: 'mosaic/Model', params: { preset: 'tiny' } },
      scal: { type: 'mosaic/SCALoss', params: { preset: 'paper' }, inputs: { model: { node: 'model', output: 'model' } } },
      mdl: { type: 'mosaic/MDLoss', params: { preset: 'code' }, inputs: { model: { node: 'scal', output: 'model' } } },
      train: {
        type: 'train/Train',
        params: { steps: 40, batchSize: 2, lr: 0.003, warmupSteps: 5, checkpointEvery: 10, keep: 2, checkpointDir: ckpt, resume: true, seed: 4, ema: 0.9, weightsFile: 'weights.safetensors', curveFile: 'loss.png' },
        inputs: { model: { node: 'mdl', output: 'model' }, data: { node: 'data', output: 'samples' } },
      },
    },
  };
}

function start(file: string, out: string) {
  return spawn(process.execPath, [join(root, 'bin/tessera.mjs'), 'run', file, '-o', out, '--json', '--allow-outside-workspace'], { cwd: root, env: { ...process.env, NO_COLOR: '1' }, stdio: 'ignore' });
}
const exited = (p: ReturnType<typeof start>) => new Promise<number | null>((res) => p.on('exit', (code, signal) => res(code ?? (signal ? -1 : null))));

test('a training run killed mid-way resumes from its last checkpoint and ends exactly as an uninterrupted run', async () => {
  const dir = tempDir('mosaic-resume');
  const file = join(dir, 'g.json');

  // Uninterrupted reference run.
  await writeFile(file, JSON.stringify(graph(join(dir, 'ckpt-a'))));
  assert.is(await exited(start(file, join(dir, 'a'))), 0);

  // Killed as soon as the step-10 checkpoint exists, then run again with the same folder.
  await writeFile(file, JSON.stringify(graph(join(dir, 'ckpt-b'))));
  const child = start(file, join(dir, 'b1'));
  const done = exited(child);
  const first = join(dir, 'ckpt-b', 'step-00000010.safetensors');
  while (!existsSync(first)) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGKILL');
  assert.is(await done, -1, 'the run was not killed');
  assert.not.ok(existsSync(join(dir, 'ckpt-b', 'step-00000040.safetensors')), 'the run finished before the kill; the test proves nothing');
  assert.is(await exited(start(file, join(dir, 'b2'))), 0);

  const a = await loadSafetensors(join(dir, 'a', 'weights.safetensors'));
  const b = await loadSafetensors(join(dir, 'b2', 'weights.safetensors'));
  assert.equal(Object.keys(b.tensors).sort(), Object.keys(a.tensors).sort());
  for (const [name, t] of Object.entries(a.tensors)) assert.equal(Array.from(b.tensors[name]!.data as Float32Array), Array.from(t.data as Float32Array), name);
  const run = JSON.parse(await readFile(join(dir, 'b2', 'run.json'), 'utf8')) as { results: { train: { summary: { resumedFrom: number | null } } } };
  assert.ok((run.results.train.summary.resumedFrom ?? 0) >= 10, `resumed from ${run.results.train.summary.resumedFrom}`);
  const ha = JSON.parse(await readFile(join(dir, 'a', 'history.json'), 'utf8'));
  const hb = JSON.parse(await readFile(join(dir, 'b2', 'history.json'), 'utf8'));
  assert.equal(hb, ha, 'the loss history differs from the uninterrupted run');
});

test.run();
