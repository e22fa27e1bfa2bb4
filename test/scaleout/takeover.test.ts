import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, createLogger, type Engine } from 'tessera';
import { loadSafetensors } from 'tessera/kernels';
import { builtinPlugins } from '../../plugins/index.ts';
import { RedisRunBackend } from '../../core/queue/RedisRunBackend.ts';
import { parseRedisUrl } from '../../core/queue/redisUrl.ts';
import { queueTarget } from '../../core/sweep/queueTarget.ts';
import { ENGINE_API_VERSION } from '../../core/version.ts';
import { tempWorkspace } from '../server/helpers.ts';
import { startRedis, type RedisServer } from './redisServer.ts';
import { spawnWorker, stopWorker, type WorkerProcess } from './workers.ts';
import { EVERY, referenceRun, trainGraph as takeoverGraph } from './takeoverRun.ts';

// A training run taken over by another worker resumes from the checkpoint the dead worker left in
// the shared run directory (train/Train's default checkpointDir is <run dir>/checkpoints, with
// resume on), and ends with the weights of an uninterrupted run. Real redis-server, real worker
// processes, a tiny latent autoencoder (a few seconds of training).

const STEPS = 400;
/**
 * Training left after the first checkpoint, at least, so the kill lands inside it on any machine.
 * The step time is measured in the reference run; a machine fast enough to train STEPS in less
 * trains more steps (here STEPS already take longer: nothing extra runs).
 */
const MIN_LEFT_MS = 1500;

const trainGraph = (steps: number) => takeoverGraph(steps, 'takeover-train');

const step = (n: number) => `step-${String(n).padStart(8, '0')}.safetensors`;
const CHECKPOINT = /^step-\d{8}\.safetensors$/;

const reference = (outDir: string, steps: number) => referenceRun(engine, trainGraph(steps), outDir);

let redis: RedisServer;
let engine: Engine;
const workers: WorkerProcess[] = [];

test.before(async () => {
  redis = await startRedis();
  engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => undefined) });
});

test.after(async () => {
  await Promise.allSettled(workers.map(stopWorker));
  await redis?.stop();
});

test('kill -9 of a worker mid-training: another worker resumes from the last checkpoint and ends with the weights of an uninterrupted run', async () => {
  const workspace = tempWorkspace('tessera-takeover-');
  const runsDir = join(workspace, 'runs');
  // The uninterrupted reference, in this process; longer where STEPS train too fast to kill in.
  let steps = STEPS;
  let refDir = join(workspace, 'reference');
  let ref = await reference(refDir, steps);
  assert.is(ref.status, 'run:done');
  assert.ok(ref.seconds > 0, 'the reference run reports no training time');
  const stepMs = (ref.seconds * 1000) / steps;
  if ((steps - EVERY) * stepMs < MIN_LEFT_MS) {
    steps = Math.ceil((MIN_LEFT_MS / stepMs + EVERY) / EVERY) * EVERY;
    refDir = join(workspace, 'reference-longer');
    ref = await reference(refDir, steps);
    assert.is(ref.status, 'run:done');
  }

  for (let i = 0; i < 2; i++) workers.push(spawnWorker(redis.url, workspace, ['--runs-dir', runsDir, '--lock-ms', '1000']));
  await Promise.all(workers.map((w) => w.ready));
  const backend = await RedisRunBackend.connect(parseRedisUrl(redis.url), { engineVersion: ENGINE_API_VERSION, logger: engine.logger });
  const target = queueTarget({ engine, runsDir, concurrency: 1, backend, where: 'redis' });
  try {
    const id = await target.submit({ graph: trainGraph(steps), seed: 0, label: 'takeover' });
    const ended = target.wait(id);
    const ckpt = join(runsDir, id, 'checkpoints');
    const deadline = Date.now() + 120_000;
    // The first checkpoint, whatever its step (older ones are pruned: a fast run may be past step EVERY's).
    while (!(existsSync(ckpt) && readdirSync(ckpt).some((f) => CHECKPOINT.test(f)))) {
      if (Date.now() > deadline) throw new Error(`no checkpoint after 120 s:\n${workers.map((w) => w.output).join('\n---\n')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const holder = workers.find((w) => w.output.includes(`run ${id}: started`));
    assert.ok(holder, 'no worker says it started the run');
    holder!.child.kill('SIGKILL');
    await holder!.exited;
    assert.not.ok(existsSync(join(ckpt, step(steps))), 'the run finished before the kill; the test proves nothing');
    const end = await ended;
    assert.is(end.status, 'done', JSON.stringify(end.errors));
    const other = workers.find((w) => w !== holder)!;
    assert.ok(other.output.includes(`run ${id}: started`), other.output);
    // The second attempt started from a checkpoint, not from step 0.
    const summary = (end.results?.train as { summary?: { resumedFrom?: number; steps?: number } } | undefined)?.summary;
    assert.ok(summary && typeof summary.resumedFrom === 'number' && summary.resumedFrom >= EVERY, JSON.stringify(summary));
    assert.is(summary!.steps, steps);
    const a = await loadSafetensors(join(refDir, 'weights.safetensors'));
    const b = await loadSafetensors(join(runsDir, id, 'weights.safetensors'));
    assert.equal(Object.keys(b.tensors).sort(), Object.keys(a.tensors).sort());
    for (const [name, t] of Object.entries(a.tensors)) assert.equal(Array.from(b.tensors[name]!.data as Float32Array), Array.from(t.data as Float32Array), name);
  } finally {
    await target.close();
  }
});

test.run();
