import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, createLogger, type Engine } from 'tessera';
import { builtinPlugins } from '../../plugins/index.ts';
import { serveCommand } from '../../core/server/serveCommand.ts';
import { workerCommand } from '../../core/queue/workerCommand.ts';
import { sweepCommand } from '../../core/sweep/sweepCommand.ts';
import { call, tempWorkspace, waitForRun, waitUntil } from '../server/helpers.ts';
import { startRedis } from './redisServer.ts';
import { captureIo, runOnce, sweepGraph, writeGraph } from './sweepSupport.ts';
import { spawnWorker, stopWorker, type WorkerProcess } from './workers.ts';

// Issue 19's security piece against a real redis-server: one started with --requirepass (and one
// with an ACL user), one serving TLS only with a throwaway CA. A server (serveCommand in this
// process), `tessera worker` processes and `tessera sweep --queue` reach it with the URL forms
// docs/scale-out.md names; wrong credentials and an untrusted certificate fail fast (exit 2) with
// a message saying so; the password is printed, logged and stored nowhere.

let engine: Engine;
/** Everything the engine (the server's, the sweep's and in-process workers') logged, at debug level. */
let logged = '';

test.before(async () => {
  engine = await createEngine({ plugins: builtinPlugins, logger: createLogger((level, message, fields) => (logged += `${level} ${message} ${JSON.stringify(fields ?? {})}\n`), 'debug') });
});

/** Every file under `dir`, as text (binary files too: a secret would still show). */
function filesUnder(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    if (statSync(path).isFile()) out.push({ path, text: readFileSync(path, 'latin1') });
  }
  return out;
}

/**
 * No secret in any printed text, nor in any file under `dirs` (run records and artifacts, and
 * Redis's AOF, which holds every job payload, job log and result the queue wrote).
 */
function assertNowhere(secrets: readonly string[], texts: Readonly<Record<string, string>>, dirs: readonly string[]): void {
  assert.ok(secrets.length > 0 && secrets.every((s) => s.length >= 8));
  for (const secret of secrets) {
    for (const [name, text] of Object.entries(texts)) assert.not.ok(text.includes(secret), `${name} prints the password:\n${text}`);
    for (const dir of dirs) for (const f of filesUnder(dir)) assert.not.ok(f.text.includes(secret), `${f.path} holds the password`);
  }
}

/** `serve --queue <url>` in this process; resolves with its URL, its output and a stop. */
async function serve(url: string, workspace: string, extra: { redisCa?: string } = {}): Promise<{ base: string; text: () => string; stop: () => Promise<number> }> {
  const { io, text } = captureIo();
  let stop!: () => void;
  const served = serveCommand({ host: '127.0.0.1', port: 0, concurrency: 1, workspace, engine, queue: url, ...extra, stop: new Promise<void>((r) => (stop = r)) }, io);
  let exited: number | undefined;
  void served.then((code) => (exited = code));
  let base: string | undefined;
  await waitUntil(async () => {
    if (exited !== undefined) throw new Error(`serve exited with ${exited}:\n${text()}`);
    return !!(base = /serving (http:\/\/\S+)/.exec(text())?.[1]);
  }, 60_000);
  return { base: base!, text, stop: async () => (stop(), served) };
}

/** A sweep POSTed to the server: every row done with the results of the same cell run alone here. */
async function sweepOnServer(base: string, values: number[], seeds: number[]): Promise<string[]> {
  const g = sweepGraph(300, 3);
  const posted = await call(base, 'POST', '/api/sweeps', { body: { graph: g, grid: [{ node: 'b', param: 'value', values }], seeds } });
  assert.is(posted.status, 202, posted.text);
  const id = posted.json.sweep.id as string;
  let last: any;
  await waitUntil(async () => (last = (await call(base, 'GET', `/api/sweeps/${id}`)).json).sweep.state === 'ended', 60_000);
  const rows = last.table.rows as { runId: string; status: string; seed: number; params: { value: number }[] }[];
  assert.is(rows.length, values.length * seeds.length);
  for (const row of rows) {
    assert.is(row.status, 'done', JSON.stringify(row));
    const events = (await call(base, 'GET', `/api/runs/${row.runId}/events`)).json.events as any[];
    const cell = structuredClone(g) as any;
    cell.nodes.b.params.value = row.params[0]!.value;
    assert.equal(events.find((e) => e.type === 'run:done').results, await runOnce(engine, cell, row.seed));
  }
  return rows.map((r) => r.runId);
}

/** `tessera worker` (a process) that must fail at startup: exit 2 within 60 s, a one-line reason, no stack. */
async function failingWorker(url: string, cwd: string, args: readonly string[] = [], env: Record<string, string> = {}): Promise<string> {
  const w = spawnWorker(url, cwd, args, [], env);
  w.ready.catch(() => {});
  const t = setTimeout(() => w.child.kill('SIGKILL'), 60_000);
  const code = await w.exited;
  clearTimeout(t);
  assert.is(code, 2, w.output);
  assert.not.match(w.output, /^\s+at /m, `a stack was printed:\n${w.output}`);
  return w.output;
}

test('password (--requirepass): serve, two worker processes and sweep --queue run to done; wrong or missing passwords fail fast; the password is printed and stored nowhere', async () => {
  const redis = await startRedis({ password: true });
  const password = redis.secrets[0]!;
  const workspace = tempWorkspace('tessera-redis-auth-');
  const runsDir = join(workspace, 'runs');
  const workers: WorkerProcess[] = [];
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  try {
    assert.match(redis.url, new RegExp(`^redis://:${password}@127\\.0\\.0\\.1:\\d+$`));
    server = await serve(redis.url, workspace);
    assert.match(server.text(), /queue {5}redis 127\.0\.0\.1:\d+ /);
    // One worker with the password in the URL, one with it in $TESSERA_REDIS_PASSWORD (not in argv).
    const bare = `redis://127.0.0.1:${redis.port}`;
    workers.push(spawnWorker(redis.url, workspace, ['--runs-dir', runsDir, '--lock-ms', '5000']));
    workers.push(spawnWorker(bare, workspace, ['--runs-dir', runsDir, '--lock-ms', '5000'], [], { TESSERA_REDIS_PASSWORD: password }));
    await Promise.all(workers.map((w) => w.ready));
    const runIds = await sweepOnServer(server.base, [5, 50], [0, 1]);
    // `tessera sweep --queue` through the same Redis and workers.
    const { io, text: sweepText } = captureIo();
    const out = join(workspace, 'sweep');
    assert.is(await sweepCommand(writeGraph(workspace, sweepGraph(100, 2)), { grid: ['b.value=7'], seeds: '3,4', out, runsDir, queue: redis.url, engine }, io), 0, sweepText());
    const table = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
    assert.equal(table.counts, { done: 2 });
    assert.match(table.where, /^redis 127\.0\.0\.1:\d+$/);

    // A wrong password (a worker process), none (a worker here), and a server with a wrong one: exit 2, saying why.
    const wrong = 'not-the-' + password.slice(0, 8);
    const wrongOut = await failingWorker(`redis://:${wrong}@127.0.0.1:${redis.port}`, workspace, ['--runs-dir', runsDir]);
    assert.match(wrongOut, /cannot reach Redis at 127\.0\.0\.1:\d+ \(WRONGPASS[^)]*\): the user or password is wrong/);
    assert.not.ok(wrongOut.includes(wrong), wrongOut);
    const none = captureIo();
    assert.is(await workerCommand({ queue: bare, concurrency: 1, runsDir, lockMs: 5000, engine }, none.io), 2);
    assert.match(none.text(), /\(NOAUTH[^)]*\): this Redis requires a password: give it in the URL \(redis:\/\/:pass@host\) or in \$TESSERA_REDIS_PASSWORD/);
    const badServer = captureIo();
    assert.is(await serveCommand({ host: '127.0.0.1', port: 0, concurrency: 1, workspace, engine, queue: `redis://:${wrong}@127.0.0.1:${redis.port}` }, badServer.io), 2);
    assert.match(badServer.text(), /WRONGPASS.*the user or password is wrong/);
    assert.not.ok(badServer.text().includes(wrong));
    // A URL that does not parse is echoed with its password hidden.
    const unparsed = captureIo();
    assert.is(await workerCommand({ queue: `redis://:${password}@127.0.0.1:port`, concurrency: 1, runsDir, lockMs: 5000, engine }, unparsed.io), 2);
    assert.match(unparsed.text(), /must be a redis:\/\/ URL \(got "redis:\/\/:\*\*\*@127\.0\.0\.1:port"\)/);

    const stopped = server;
    server = undefined;
    assert.is(await stopped.stop(), 0);
    await Promise.all(workers.map(stopWorker));
    for (const id of runIds) assert.ok(statSync(join(runsDir, id, 'run.json')).isFile());
    assert.ok(logged.length > 0, 'the engine logged nothing: the log check would prove nothing');
    // The AOF holds the jobs (payloads, logs, results): searching it searches them.
    assert.ok(filesUnder(redis.dir).some((f) => f.text.includes(runIds[0]!) && f.text.includes('tessera-run-job')), 'no AOF with the jobs under the Redis folder');
    assertNowhere([password], {
      server: stopped.text(), sweep: sweepText(), worker1: workers[0]!.output, worker2: workers[1]!.output,
      none: none.text(), unparsed: unparsed.text(), log: logged,
    }, [workspace, redis.dir]);
  } finally {
    await Promise.allSettled(workers.map(stopWorker));
    await server?.stop();
    await redis.stop();
  }
});

test('ACL user (redis://user:pass@host): serve and a worker run to done; a wrong user fails fast', async () => {
  const redis = await startRedis({ user: 'tessera' });
  const workspace = tempWorkspace('tessera-redis-acl-');
  const runsDir = join(workspace, 'runs');
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  const worker = captureIo();
  let stopWorkerHere!: () => void;
  let working: Promise<number> | undefined;
  try {
    assert.match(redis.url, /^redis:\/\/tessera:[0-9a-f]{24}@127\.0\.0\.1:\d+$/);
    server = await serve(redis.url, workspace);
    working = workerCommand({ queue: redis.url, concurrency: 1, runsDir, lockMs: 5000, engine, stop: new Promise<void>((r) => (stopWorkerHere = r)) }, worker.io);
    await waitUntil(async () => worker.text().includes('tessera worker '), 30_000);
    const g = sweepGraph(50, 1);
    const id = (await call(server.base, 'POST', '/api/runs', { body: { graph: g, seed: 2 } })).json.run.id as string;
    assert.is((await waitForRun(server.base, id, {}, 30_000)).status, 'done');
    const other = captureIo();
    assert.is(await workerCommand({ queue: redis.url.replace('tessera:', 'someone:'), concurrency: 1, runsDir, lockMs: 5000, engine }, other.io), 2);
    assert.match(other.text(), /WRONGPASS.*the user or password is wrong/);
    stopWorkerHere();
    assert.is(await working, 0);
    const stopped = server;
    server = undefined;
    assert.is(await stopped.stop(), 0);
    assertNowhere(redis.secrets, { server: stopped.text(), worker: worker.text(), other: other.text(), log: logged }, [workspace, redis.dir]);
  } finally {
    stopWorkerHere?.();
    await working;
    await server?.stop();
    await redis.stop();
  }
});

test('TLS (rediss://, a throwaway CA): serve with --redis-ca, workers with --redis-ca and NODE_EXTRA_CA_CERTS, sweep --queue run to done; without the CA a certificate error, fast', async () => {
  const redis = await startRedis({ tls: true });
  const ca = redis.caFile!;
  const workspace = tempWorkspace('tessera-redis-tls-');
  const runsDir = join(workspace, 'runs');
  const workers: WorkerProcess[] = [];
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  try {
    assert.match(redis.url, /^rediss:\/\/127\.0\.0\.1:\d+$/);
    // Without the CA: Node refuses the certificate, and the message says what to give.
    const bad = captureIo();
    assert.is(await serveCommand({ host: '127.0.0.1', port: 0, concurrency: 1, workspace, engine, queue: redis.url }, bad.io), 2);
    assert.match(bad.text(), /cannot reach Redis at 127\.0\.0\.1:\d+ \(self[- ]signed certificate in certificate chain\): Redis's TLS certificate is not trusted: give the CA that signed it with --redis-ca <file> \(or NODE_EXTRA_CA_CERTS\)/);
    const noCa = await failingWorker(redis.url, workspace, ['--runs-dir', runsDir]);
    assert.match(noCa, /certificate.*--redis-ca/);
    // A plain redis:// client on the TLS port fails too, not hangs.
    const plain = captureIo();
    assert.is(await workerCommand({ queue: redis.url.replace('rediss:', 'redis:'), concurrency: 1, runsDir, lockMs: 5000, engine }, plain.io), 2);
    assert.match(plain.text(), /cannot reach Redis/);
    // Option checks.
    const usage = captureIo();
    assert.is(await workerCommand({ queue: redis.url.replace('rediss:', 'redis:'), redisCa: ca, concurrency: 1, runsDir, lockMs: 5000, engine }, usage.io), 2);
    assert.match(usage.text(), /--redis-ca needs a rediss:\/\/ URL/);
    assert.is(await workerCommand({ queue: redis.url, redisCa: join(workspace, 'missing.pem'), concurrency: 1, runsDir, lockMs: 5000, engine }, usage.io), 2);
    assert.match(usage.text(), /--redis-ca: cannot read .*missing\.pem \(ENOENT\)/);

    server = await serve(redis.url, workspace, { redisCa: ca });
    workers.push(spawnWorker(redis.url, workspace, ['--runs-dir', runsDir, '--lock-ms', '5000', '--redis-ca', ca]));
    workers.push(spawnWorker(redis.url, workspace, ['--runs-dir', runsDir, '--lock-ms', '5000'], [], { NODE_EXTRA_CA_CERTS: ca }));
    await Promise.all(workers.map((w) => w.ready));
    await sweepOnServer(server.base, [5, 50], [0, 1]);
    const { io, text } = captureIo();
    const out = join(workspace, 'sweep');
    assert.is(await sweepCommand(writeGraph(workspace, sweepGraph(100, 2)), { grid: ['b.value=7'], seeds: '3,4', out, runsDir, queue: redis.url, redisCa: ca, engine }, io), 0, text());
    assert.equal(JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')).counts, { done: 2 });
  } finally {
    await Promise.allSettled(workers.map(stopWorker));
    await server?.stop();
    await redis.stop();
  }
});

test('password and TLS together (rediss://:pass@…), across a kill -9 and restart of redis-server: runs before and after end done', async () => {
  const redis = await startRedis({ password: true, tls: true });
  const workspace = tempWorkspace('tessera-redis-both-');
  const runsDir = join(workspace, 'runs');
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  const worker = captureIo();
  let stopWorkerHere!: () => void;
  let working: Promise<number> | undefined;
  try {
    assert.match(redis.url, /^rediss:\/\/:[0-9a-f]{24}@127\.0\.0\.1:\d+$/);
    server = await serve(redis.url, workspace, { redisCa: redis.caFile! });
    working = workerCommand({ queue: redis.url, redisCa: redis.caFile!, concurrency: 1, runsDir, lockMs: 5000, engine, stop: new Promise<void>((r) => (stopWorkerHere = r)) }, worker.io);
    await waitUntil(async () => worker.text().includes('tessera worker '), 30_000);
    const g = sweepGraph(50, 1);
    const before = (await call(server.base, 'POST', '/api/runs', { body: { graph: g, seed: 1 } })).json.run.id as string;
    assert.is((await waitForRun(server.base, before, {}, 30_000)).status, 'done');
    // The clients reconnect on their own, authenticating and verifying the certificate again.
    await redis.restart();
    const after = (await call(server.base, 'POST', '/api/runs', { body: { graph: g, seed: 2 } })).json.run.id as string;
    const info = await waitForRun(server.base, after, {}, 60_000);
    assert.is(info.status, 'done', JSON.stringify(info.errors));
    stopWorkerHere();
    assert.is(await working, 0);
    const stopped = server;
    server = undefined;
    assert.is(await stopped.stop(), 0);
    assertNowhere(redis.secrets, { server: stopped.text(), worker: worker.text(), log: logged }, [workspace, redis.dir]);
  } finally {
    stopWorkerHere?.();
    await working;
    await server?.stop();
    await redis.stop();
  }
});

test.run();
