import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, createLogger, type Engine } from 'tessera';
import { loadSafetensors } from 'tessera/kernels';
import { builtinPlugins } from '../../plugins/index.ts';
import { RedisRunBackend } from '../../core/queue/RedisRunBackend.ts';
import { parseRedisUrl } from '../../core/queue/redisUrl.ts';
import { openArtifactStore } from '../../core/storage/openArtifactStore.ts';
import { queueTarget } from '../../core/sweep/queueTarget.ts';
import { ENGINE_API_VERSION } from '../../core/version.ts';
import { tempWorkspace } from '../server/helpers.ts';
import { startRedis, type RedisServer } from './redisServer.ts';
import { startS3, useS3Env, type S3Server } from './s3Server.ts';
import { spawnWorker, stopWorker, type WorkerProcess } from './workers.ts';
import { EVERY, referenceRun, trainGraph as takeoverGraph } from './takeoverRun.ts';

// takeover.test.ts without a shared folder: two workers on "machines" of their own (own
// workspace, own runs folder) upload a training run's changed files to the bucket while it
// runs (--artifacts-sync-s 0.2). kill -9 of the one holding the run once a committed checkpoint
// (its manifest) is in the bucket: the other restores the run's files from the bucket, resumes
// from a checkpoint and ends with the weights of an uninterrupted run.

const STEPS = 400;
const MIN_LEFT_MS = 2500;
const MANIFEST = /^checkpoints\/step-\d{8}\.manifest\.json$/;

const trainGraph = (steps: number) => takeoverGraph(steps, 's3-takeover-train');

const reference = (outDir: string, steps: number) => referenceRun(engine, trainGraph(steps), outDir);

let redis: RedisServer;
let s3: S3Server;
let engine: Engine;
const workers: WorkerProcess[] = [];
let restoreEnv = () => {};

test.before(async () => {
  [redis, s3] = await Promise.all([startRedis(), startS3()]);
  restoreEnv = useS3Env(s3);
  engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => undefined) });
});

test.after(async () => {
  await Promise.allSettled(workers.map(stopWorker));
  await redis?.stop();
  await s3?.stop();
  restoreEnv();
});

test('kill -9 mid-training with no shared folder: another machine restores the checkpoints from the bucket and ends with the uninterrupted weights', async () => {
  const here = tempWorkspace('tessera-s3-takeover-');
  let steps = STEPS;
  let refDir = join(here, 'reference');
  let ref = await reference(refDir, steps);
  assert.is(ref.status, 'run:done');
  const stepMs = (ref.seconds * 1000) / steps;
  if ((steps - EVERY) * stepMs < MIN_LEFT_MS) {
    steps = Math.ceil((MIN_LEFT_MS / stepMs + EVERY) / EVERY) * EVERY;
    refDir = join(here, 'reference-longer');
    ref = await reference(refDir, steps);
    assert.is(ref.status, 'run:done');
  }
  const url = `s3://${s3.bucket}/takeover`;
  const store = await openArtifactStore({ url, endpoint: s3.endpoint });
  if (typeof store === 'string') throw new Error(store);
  const machines = [tempWorkspace('tessera-s3-machine-a-'), tempWorkspace('tessera-s3-machine-b-')];
  for (const ws of machines) {
    // A 5 s lock: at 1 s, a loaded CI machine let the job's lock lapse while its first worker was
    // still training, so the second started it before any checkpoint was in the bucket.
    workers.push(spawnWorker(redis.url, ws, ['--runs-dir', join(ws, 'runs'), '--lock-ms', '5000', '--artifacts', url, '--s3-endpoint', s3.endpoint, '--artifacts-sync-s', '0.2'], [], s3.env));
  }
  await Promise.all(workers.map((w) => w.ready));
  const backend = await RedisRunBackend.connect(parseRedisUrl(redis.url), { engineVersion: ENGINE_API_VERSION, logger: engine.logger, artifacts: store.where });
  const target = queueTarget({ engine, runsDir: join(here, 'server-runs'), concurrency: 1, backend, where: 'redis' });
  try {
    const id = await target.submit({ graph: trainGraph(steps), seed: 0, label: 's3-takeover' });
    const ended = target.wait(id);
    const deadline = Date.now() + 120_000;
    // A committed checkpoint in the bucket (its manifest is pushed after its files).
    while (!(await store.listFiles(id)).some((f) => MANIFEST.test(f.path))) {
      if (Date.now() > deadline) throw new Error(`no checkpoint in the bucket after 120 s:\n${workers.map((w) => w.output).join('\n---\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const holder = workers.find((w) => w.output.includes(`run ${id}: started`));
    assert.ok(holder, 'no worker says it started the run');
    holder!.child.kill('SIGKILL');
    await holder!.exited;
    const holderDir = join(machines[workers.indexOf(holder!)]!, 'runs', id);
    assert.not.ok(existsSync(join(holderDir, 'weights.safetensors')), 'the run finished before the kill; the test proves nothing');
    const end = await ended;
    assert.is(end.status, 'done', JSON.stringify(end.errors));
    const other = workers.find((w) => w !== holder)!;
    assert.match(other.output, new RegExp(`run ${id}: restored \\d+ files? of an earlier attempt from ${url}`));
    const summary = (end.results?.train as { summary?: { resumedFrom?: number; steps?: number } } | undefined)?.summary;
    assert.ok(summary && typeof summary.resumedFrom === 'number' && summary.resumedFrom >= EVERY, JSON.stringify(summary));
    assert.is(summary!.steps, steps);
    // The weights as stored in the bucket equal the uninterrupted run's.
    const copy = join(here, 'from-bucket.safetensors');
    assert.ok(await store.download(id, 'weights.safetensors', copy));
    const a = await loadSafetensors(join(refDir, 'weights.safetensors'));
    const b = await loadSafetensors(copy);
    assert.equal(Object.keys(b.tensors).sort(), Object.keys(a.tensors).sort());
    for (const [name, t] of Object.entries(a.tensors)) assert.equal(Array.from(b.tensors[name]!.data as Float32Array), Array.from(t.data as Float32Array), name);
  } finally {
    await target.close();
  }
});

test.run();
