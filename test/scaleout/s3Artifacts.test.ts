import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createEngine, createLogger, type Engine } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { createServer, type TesseraServer } from '../../core/server/createServer.ts';
import { RedisRunBackend } from '../../core/queue/RedisRunBackend.ts';
import { parseRedisUrl } from '../../core/queue/redisUrl.ts';
import { ENGINE_API_VERSION } from '../../core/version.ts';
import { openArtifactStore } from '../../core/storage/openArtifactStore.ts';
import { S3ArtifactStore } from '../../core/storage/S3ArtifactStore.ts';
import { createServer as createNetServer } from 'node:net';
import { call, graph, tempWorkspace, waitForRun } from '../server/helpers.ts';
import { startRedis, type RedisServer } from './redisServer.ts';
import { startS3, useS3Env, type S3Server } from './s3Server.ts';
import { spawnWorker, stopWorker, type WorkerProcess } from './workers.ts';

// issue 19's artifacts on object storage: a real redis-server, a real S3-compatible server
// (s3rver, its own process), a server and `tessera worker` processes on loopback. The server and
// the workers share no folder: each has its own workspace and runs folder, and run directories
// travel through the bucket only.

let redis: RedisServer;
let s3: S3Server;
let engine: Engine;
let server: TesseraServer;
let base: string;
let serverRuns: string;
let store: S3ArtifactStore;
const workers: WorkerProcess[] = [];
const PREFIX = 'exp/one';
const BIN = fileURLToPath(new URL('../../bin/tessera.mjs', import.meta.url));
let restoreEnv = () => {};

function artifactsArgs(): string[] {
  return ['--artifacts', `s3://${s3.bucket}/${PREFIX}`, '--s3-endpoint', s3.endpoint];
}

/** A workspace of its own with the input image, as on another machine. */
function machine(prefix: string): string {
  const ws = tempWorkspace(prefix);
  const png = new pngjs.PNG({ width: 4, height: 3 });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 37) % 256;
  writeFileSync(join(ws, 'in.png'), pngjs.PNG.sync.write(png));
  return ws;
}

function worker(ws: string, args: readonly string[] = [], env: Record<string, string> = s3.env): WorkerProcess {
  const w = spawnWorker(redis.url, ws, ['--runs-dir', join(ws, 'runs'), '--lock-ms', '1000', ...args], [], env);
  workers.push(w);
  w.ready.catch(() => undefined); // awaited by the tests that expect it; some workers must exit instead
  return w;
}

/** An image saved into the run directory and a seed-dependent JSON file, after a delay. */
function imageGraph(delayMs: number): Record<string, unknown> {
  return graph({
    img: { type: 'core/LoadImage', params: { path: 'in.png' } },
    save: { type: 'core/SaveImage', params: { filename: 'images/out.png' }, inputs: { image: { node: 'img', output: 'image' } } },
    r: { type: 'core/Random', params: { min: 0, max: 100 } },
    wait: { type: 'core/Delay', params: { ms: delayMs, steps: 2 }, inputs: { value: { node: 'r', output: 'value' } } },
    json: { type: 'core/SaveJSON', params: { filename: 'value.json' }, inputs: { value: { node: 'wait', output: 'value' } } },
  });
}

async function submit(g: Record<string, unknown>, seed = 1): Promise<string> {
  const r = await call(base, 'POST', '/api/runs', { body: { graph: g, seed } });
  assert.is(r.status, 202, r.text);
  return r.json.run.id as string;
}

/** Every file under `dir`, relative. */
function filesUnder(dir: string, rel = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? filesUnder(join(dir, n), `${rel}${n}/`) : [`${rel}${n}`]));
}

test.before(async () => {
  [redis, s3] = await Promise.all([startRedis(), startS3()]);
  // This process is the server: it reads the bucket with the AWS environment, as `serve` does.
  restoreEnv = useS3Env(s3);
  engine = await createEngine({ plugins: builtinPlugins, logger: createLogger(() => undefined) });
  const opened = await openArtifactStore({ url: `s3://${s3.bucket}/${PREFIX}`, endpoint: s3.endpoint });
  if (typeof opened === 'string') throw new Error(opened);
  store = opened;
  const ws = machine('tessera-s3-server-');
  serverRuns = join(ws, 'runs');
  const backend = await RedisRunBackend.connect(parseRedisUrl(redis.url), { engineVersion: ENGINE_API_VERSION, logger: engine.logger, artifacts: store.where });
  server = await createServer({ engine, host: '127.0.0.1', port: 0, ui: false, workspace: ws, runsDir: serverRuns, backend, artifacts: store }).listen();
  base = server.url;
});

test.after.each(async () => {
  // Each test's workers stop with it, so the next test's runs go to its own workers.
  await Promise.all(workers.splice(0).map((w) => stopWorker(w)));
});

test.after(async () => {
  await Promise.all(workers.map((w) => stopWorker(w)));
  await server?.close();
  await redis?.stop();
  await s3?.stop();
  restoreEnv();
});

test('a run on a worker with --artifacts s3://… is read through the server: info, events, an output image, with no shared folder', async () => {
  const ws = machine('tessera-s3-worker-');
  const w = worker(ws, [...artifactsArgs(), '--artifacts-sync-s', '0']);
  await w.ready;
  assert.match(w.output, `uploaded to s3://${s3.bucket}/${PREFIX}`);
  const id = await submit(imageGraph(200), 7);
  const run = await waitForRun(base, id, {}, 30_000);
  assert.is(run.status, 'done', JSON.stringify(run));
  // The image exists on the worker's machine and in the bucket, never in the server's runs folder.
  const local = join(ws, 'runs', id, 'images', 'out.png');
  assert.ok(existsSync(local), w.output);
  assert.not.ok(existsSync(join(serverRuns, id, 'images')));
  const listed = await call(base, 'GET', `/api/runs/${id}/files`);
  const paths = (listed.json.files as { path: string }[]).map((f) => f.path);
  for (const p of ['images/out.png', 'value.json', 'run.json', 'events.jsonl', 'graph.json']) assert.ok(paths.includes(p), paths.join(', '));
  const image = await fetch(`${base}api/runs/${id}/files/images/out.png`);
  assert.is(image.status, 200);
  assert.is(image.headers.get('content-type'), 'image/png');
  assert.ok(Buffer.from(await image.arrayBuffer()).equals(readFileSync(local)), 'the image as the worker wrote it');
  const value = await call(base, 'GET', `/api/runs/${id}/files/value.json`);
  assert.is(value.status, 200);
  const events = (await call(base, 'GET', `/api/runs/${id}/events`)).json.events as any[];
  const done = events.at(-1);
  assert.is(done.type, 'run:done');
  const waited = events.find((e) => e.type === 'node:output' && e.nodeId === 'wait');
  assert.type(waited?.outputs?.value, 'number');
  assert.equal(JSON.parse(value.text), waited.outputs.value);
  // Jobs name the bucket, never a credential: not in Redis's AOF (every payload, log, result), the runs folders or the output.
  for (const dir of [redis.dir, join(ws, 'runs'), serverRuns]) {
    for (const f of filesUnder(dir)) assert.not.ok(readFileSync(join(dir, f)).includes(s3.secret), `${dir}/${f}`);
  }
  assert.ok(filesUnder(redis.dir).some((f) => readFileSync(join(redis.dir, f)).includes(`s3://${s3.bucket}/${PREFIX}`)), 'the AOF holds the job');
  assert.not.ok(w.output.includes(s3.secret));
});

test('a server with a fresh runs folder lists the stored run and replays it from the bucket alone', async () => {
  const ws = machine('tessera-s3-worker-');
  const w = worker(ws, [...artifactsArgs(), '--artifacts-sync-s', '0']);
  await w.ready;
  const id = await submit(imageGraph(50), 3);
  assert.is((await waitForRun(base, id, {}, 30_000)).status, 'done');
  const expected = (await call(base, 'GET', `/api/runs/${id}/events`)).json.events as any[];
  await stopWorker(w);
  // A second server on another machine: the same bucket, an empty runs folder, no Redis.
  const other = await createServer({ engine, host: '127.0.0.1', port: 0, ui: false, workspace: tempWorkspace('tessera-s3-reader-'), artifacts: store }).listen();
  try {
    const list = (await call(other.url, 'GET', '/api/runs')).json.runs as any[];
    const found = list.find((r) => r.id === id);
    assert.ok(found, JSON.stringify(list.map((r) => r.id)));
    assert.is(found.status, 'done');
    const info = await call(other.url, 'GET', `/api/runs/${id}`);
    assert.is(info.status, 200);
    assert.is(info.json.status, 'done');
    assert.is(info.json.seed, 3);
    const events = await call(other.url, 'GET', `/api/runs/${id}/events`);
    assert.is(events.status, 200);
    const got = events.json.events as any[];
    // The worker's own record of the run: the same events (its seq, the same results).
    assert.equal(got.map((e) => e.type), expected.map((e) => e.type));
    assert.equal(got.at(-1).results, expected.at(-1).results);
    const page = await call(other.url, 'GET', `/api/runs/${id}/events?since=2`);
    assert.is(page.json.events.length, got.length - 2);
    const image = await fetch(`${other.url}api/runs/${id}/files/images/out.png`);
    assert.is(image.status, 200);
    assert.ok(Buffer.from(await image.arrayBuffer()).equals(readFileSync(join(ws, 'runs', id, 'images', 'out.png'))));
    assert.is((await call(other.url, 'GET', `/api/runs/${id}/files/images/none.png`)).status, 404);
    // The worker drew the previews the editor shows for a finished run, as the server does for its own.
    const stored = ((await call(other.url, 'GET', `/api/runs/${id}/files`)).json.files as { path: string }[]).map((f) => f.path);
    assert.ok(stored.includes('previews/img/image.png'), stored.join(', '));
    const preview = await fetch(`${other.url}api/runs/${id}/files/previews/img/image.png`);
    assert.is(preview.headers.get('content-type'), 'image/png');
    assert.ok(Buffer.from(await preview.arrayBuffer()).subarray(1, 4).equals(Buffer.from('PNG')));
    // A path with `..` never becomes a key (a single segment, so the URL parser keeps it).
    const bad = await call(other.url, 'GET', `/api/runs/${id}/files/..%2F..%2F${id}%2Frun.json`);
    assert.is(bad.status, 400, bad.text);
    assert.match(bad.json.message, '".." segment');
    assert.is((await call(other.url, 'POST', `/api/runs/${id}/cancel`)).status, 409);
  } finally {
    await other.close();
  }
});

test('a sweep POSTed to the server: every run in the bucket, its table copied to sweeps/<id>/ once it ended', async () => {
  const ws = machine('tessera-s3-worker-');
  const w = worker(ws, [...artifactsArgs(), '--artifacts-sync-s', '0']);
  await w.ready;
  const posted = await call(base, 'POST', '/api/sweeps', { body: { graph: imageGraph(10), grid: [{ node: 'wait', param: 'ms', values: [10, 20] }], seeds: [0], label: 's3' } });
  assert.is(posted.status, 202, posted.text);
  const id = posted.json.sweep.id as string;
  let sweep: any;
  const deadline = Date.now() + 60_000;
  while ((sweep = (await call(base, 'GET', `/api/sweeps/${id}`)).json).sweep.state !== 'ended') {
    if (Date.now() > deadline) throw new Error(`sweep still running:\n${w.output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(sweep.sweep.counts, { done: 2 });
  const stored = await store.listRunIds();
  for (const row of sweep.table.rows) assert.ok(stored.includes(row.runId), row.runId);
  // The table as the server wrote it, in the bucket (read with the SDK itself).
  const key = `${PREFIX}/sweeps/${id}/sweep.json`;
  const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true });
  let text = '';
  const until = Date.now() + 10_000;
  for (;;) {
    try {
      text = await (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToString();
      break;
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  assert.is(text, readFileSync(join(serverRuns, 'sweeps', id, 'sweep.json'), 'utf8'));
  client.destroy();
});

test('a run is listed from the bucket only once its run.json is stored', async () => {
  const { RunDirSync } = await import('../../core/storage/RunDirSync.ts');
  const dir = tempWorkspace('tessera-s3-sync-');
  const id = '20261208-101010-000-abcdef';
  mkdirSync(join(dir, 'checkpoints'), { recursive: true });
  writeFileSync(join(dir, 'checkpoints', 'step-1.bin'), 'weights');
  writeFileSync(join(dir, 'graph.json'), JSON.stringify(graph({})));
  writeFileSync(join(dir, 'events.jsonl'), JSON.stringify({ type: 'run:start', runId: id, seq: 0, t: 0 }) + '\n');
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ format: 'tessera-run', version: 1, runId: id, writer: 'server', status: 'done', createdAt: new Date().toISOString(), eventCount: 1 }));
  const order: string[] = [];
  // The real store, with each upload noted in order.
  const recording = Object.assign(Object.create(store) as S3ArtifactStore, {
    putFile: async (runId: string, path: string, file: string) => {
      order.push(path);
      return store.putFile(runId, path, file);
    },
  });
  const sync = new RunDirSync(recording, id, dir);
  assert.is(await sync.push(), 1); // a checkpoint, while the run goes on
  const reader = await createServer({ engine, host: '127.0.0.1', port: 0, ui: false, workspace: tempWorkspace('tessera-s3-reader-'), artifacts: store }).listen();
  try {
    assert.is((await call(reader.url, 'GET', `/api/runs/${id}`)).status, 404);
    assert.is(await sync.push(), 0); // nothing changed
    await sync.finish();
    assert.equal(order, ['checkpoints/step-1.bin', 'graph.json', 'events.jsonl', 'run.json']);
    assert.is((await call(reader.url, 'GET', `/api/runs/${id}`)).json.status, 'done');
  } finally {
    await reader.close();
  }
});

test('listings page past 1000 keys (S3 answers at most 1000 per request)', async () => {
  const { RunDirSync } = await import('../../core/storage/RunDirSync.ts');
  const dir = tempWorkspace('tessera-s3-many-');
  const id = '20261208-111111-000-abcdef';
  for (let i = 0; i < 1003; i++) {
    mkdirSync(join(dir, 'frames', String(i % 10)), { recursive: true });
    writeFileSync(join(dir, 'frames', String(i % 10), `${i}.txt`), String(i));
  }
  const sync = new RunDirSync(store, id, dir);
  assert.is(await sync.push(), 1003);
  const files = await store.listFiles(id);
  assert.is(files.length, 1003);
  assert.is(new Set(files.map((f) => f.path)).size, 1003);
  const listed = await call(base, 'GET', `/api/runs/${id}/files`);
  assert.is(listed.status, 404); // no run.json: not a run yet
});

test('bad credentials: the worker and the server exit 2 with the reason; the secret is printed nowhere', async () => {
  const ws = machine('tessera-s3-worker-');
  const bad = worker(ws, artifactsArgs(), { ...s3.env, AWS_ACCESS_KEY_ID: 'AKNOSUCHKEY000000' });
  assert.is(await bad.exited, 2);
  assert.match(bad.output, `error: cannot use s3://${s3.bucket}/${PREFIX}`);
  assert.match(bad.output, /InvalidAccessKeyId \(HTTP 403\).*the access key is unknown to this S3 service: check AWS_ACCESS_KEY_ID/);
  assert.match(bad.output, /AWS_ACCESS_KEY_ID/);
  assert.not.match(bad.output, /\n\s+at /); // no stack
  assert.not.ok(bad.output.includes(s3.secret));
  // `serve` checks the bucket at startup too, before loading any plugin.
  const serve = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--workspace', ws, ...artifactsArgs()], { env: { ...process.env, ...s3.env, AWS_ACCESS_KEY_ID: 'AKNOSUCHKEY000000' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let served = '';
  serve.stdout.on('data', (d: Buffer) => (served += d.toString()));
  serve.stderr.on('data', (d: Buffer) => (served += d.toString()));
  assert.is(await new Promise((r) => serve.once('exit', r)), 2);
  assert.match(served, /error: cannot use s3:\/\/tessera-runs\/exp\/one: .*HTTP 403/);
  assert.not.ok(served.includes(s3.secret));
  const none = await openArtifactStore({ url: `s3://no-such-bucket/${PREFIX}`, endpoint: s3.endpoint });
  assert.type(none, 'string');
  assert.match(none as string, /NoSuchBucket \(HTTP 404\).*the bucket does not exist/);
  const away = await openArtifactStore({ url: `s3://${s3.bucket}`, endpoint: 'http://127.0.0.1:9' });
  assert.match(away as string, /does not answer \(ECONNREFUSED\)/);
  // A service that takes connections and never answers: refused within the check's time, not hung.
  const silent = createNetServer((socket) => socket.on('error', () => undefined));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (silent.address() as { port: number }).port;
    const started = Date.now();
    const mute = new S3ArtifactStore({ bucket: s3.bucket, prefix: '' }, { endpoint: `http://127.0.0.1:${port}`, checkTimeoutMs: 1000 });
    let why = '';
    await mute.check().catch((error: unknown) => (why = (error as Error).message));
    assert.match(why, 'no answer within 1 s: check --s3-endpoint');
    assert.ok(Date.now() - started < 10_000, `${Date.now() - started} ms`);
  } finally {
    silent.close();
  }
  // Credentials in the URL are refused and never echoed.
  const inUrl = worker(ws, ['--artifacts', `s3://AKX:${s3.secret}@${s3.bucket}/x`]);
  assert.is(await inUrl.exited, 2);
  assert.match(inUrl.output, 'credentials do not go in the URL');
  assert.not.ok(inUrl.output.includes(s3.secret));
  const dots = worker(ws, ['--artifacts', `s3://${s3.bucket}/a/../b`]);
  assert.is(await dots.exited, 2);
  assert.match(dots.output, '".." segment');
});

test('a worker without --artifacts refuses the job of an S3 server; one with it takes it over', async () => {
  const wsPlain = machine('tessera-s3-plain-');
  const plain = worker(wsPlain);
  await plain.ready;
  const id = await submit(imageGraph(10), 2);
  const deadline = Date.now() + 15_000;
  while (!plain.output.includes(`run ${id}: refused`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.match(plain.output, `the server reads runs from s3://${s3.bucket}/${PREFIX}`);
  const ws = machine('tessera-s3-worker-');
  const w = worker(ws, [...artifactsArgs(), '--artifacts-sync-s', '0']);
  // Its start (loading every plugin) is not what is tested: on a loaded 2-core machine it alone can take 30 s.
  await w.ready;
  const run = await waitForRun(base, id, {}, 30_000).catch((error: Error) => {
    throw new Error(`${error.message}\nworker with --artifacts:\n${w.output}\nworker without:\n${plain.output}`);
  });
  assert.is(run.status, 'done');
  assert.match(w.output, `run ${id}: stored in`);
  await Promise.all([stopWorker(plain), stopWorker(w)]);
});

test('an upload that fails ends the run failed with the reason, and the run stays whole on the worker', async () => {
  const ws = machine('tessera-s3-worker-');
  const w = worker(ws, [...artifactsArgs(), '--artifacts-sync-s', '0']);
  await w.ready;
  const id = await submit(imageGraph(1500), 5);
  const deadline = Date.now() + 15_000;
  while (!w.output.includes(`run ${id}: started`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await s3.kill(); // the bucket goes away mid-run
  try {
    const run = await waitForRun(base, id, {}, 60_000);
    assert.is(run.status, 'failed');
    assert.is(run.errors[0].name, 'ArtifactUploadError');
    assert.match(run.errors[0].message, 'the run ended done, but its directory could not be stored');
    assert.match(run.errors[0].message, join(ws, 'runs', id));
    const dir = join(ws, 'runs', id);
    assert.equal(filesUnder(dir).filter((f) => !f.endsWith('.tmp') && !f.startsWith('previews/')).sort(), ['events.jsonl', 'graph.json', 'images/out.png', 'run.json', 'value.json']);
    assert.ok(filesUnder(dir).includes('previews/img/image.png'));
    const record = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    assert.is(record.status, 'done');
    assert.match(record.error, 'could not be stored');
    const lines = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.is(lines.at(-1).type, 'run:done');
    assert.is(record.eventCount, lines.length);
    // It was tried 3 times before the run ended failed.
    assert.match(w.output, `run ${id}: uploading its directory failed`);
    assert.match(w.output, 'try 3 of 3 in 4 s');
    assert.not.ok(w.output.includes(s3.secret));
    // The bucket is away: the server's own runs and files are still listed; a file only the bucket could have answers 502 with the reason.
    const list = await call(base, 'GET', '/api/runs');
    assert.is(list.status, 200);
    assert.ok((list.json.runs as any[]).some((r) => r.id === id));
    const files = await call(base, 'GET', `/api/runs/${id}/files`);
    assert.is(files.status, 200);
    assert.ok((files.json.files as { path: string }[]).some((f) => f.path === 'run.json'));
    const away = await call(base, 'GET', `/api/runs/${id}/files/images/out.png`);
    assert.is(away.status, 502);
    assert.match(away.json.message, /the run store cannot be read: .*does not answer \(ECONNREFUSED\)/);
  } finally {
    await s3.start();
  }
  await stopWorker(w);
});

test.run();
