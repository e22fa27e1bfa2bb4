import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { GraphDocument } from '../../core/graph/GraphDocument.ts';
import { parseRunJob, refusalOf, runJobOf } from '../../core/queue/RunJob.ts';
import { parseRedisUrl } from '../../core/queue/redisUrl.ts';
import { parseRemoteMessage, terminalOfResult } from '../../core/queue/remoteMessage.ts';
import { insecureRedisReason, isLoopbackHost } from '../../core/queue/redisAccess.ts';

const graph = { format: 'tessera-graph', version: 1, nodes: { a: { type: 'core/Number', params: { value: 1 } }, b: { type: 'good/Triple', inputs: { x: { node: 'a', output: 'value' } } }, c: { type: 'core/Number' } } } as unknown as GraphDocument;
const job = runJobOf({ runId: '20261207-191501-000-3f9a1c', graph, seed: 3 }, '0.1.0');

test('a job lists the node types of its graph and reads back as itself', () => {
  assert.equal(job.nodeTypes, ['core/Number', 'good/Triple']);
  const parsed = parseRunJob(JSON.parse(JSON.stringify(job)));
  assert.ok('job' in parsed);
  if ('job' in parsed) assert.equal(parsed.job, job);
});

test('anything but a run job is rejected with the reason', () => {
  const cases: [unknown, RegExp][] = [
    [null, /not a tessera-run-job v1 payload/],
    [{ hello: 'world' }, /not a tessera-run-job v1 payload/],
    [{ ...job, version: 2 }, /\/version/],
    [{ ...job, code: 'process.exit()' }, /additional properties/],
    [{ ...job, runId: '../etc' }, /\/runId/],
    [{ ...job, engineVersion: 'latest' }, /not a semver version/],
    [{ ...job, nodeTypes: ['core/Number'] }, /nodeTypes does not list the node types of the graph/],
    [{ ...job, graph: { nodes: [] } }, /\/graph\/nodes/],
  ];
  for (const [data, reason] of cases) {
    const parsed = parseRunJob(data);
    assert.ok('error' in parsed, JSON.stringify(data));
    if ('error' in parsed) assert.match(parsed.error, reason);
  }
});

test('a worker refuses another engine major version and missing node types, and takes the rest', () => {
  const all = new Set(['core/Number', 'good/Triple']);
  assert.is(refusalOf(job, '0.3.1', all), undefined);
  assert.match(refusalOf(job, '1.0.0', all)!, /engine 0\.1\.0 was asked for; this worker has engine 1\.0\.0/);
  assert.match(refusalOf(job, '0.1.0', new Set(['core/Number']))!, /lacks node type good\/Triple/);
});

test('--queue URLs: redis:// and rediss:// only, with host, port, db and credentials', () => {
  assert.equal(parseRedisUrl('redis://127.0.0.1:6390'), { host: '127.0.0.1', port: 6390, maxRetriesPerRequest: null });
  assert.equal(parseRedisUrl('rediss://u:p%40ss@redis.example:7000/2'), { host: 'redis.example', port: 7000, db: 2, username: 'u', password: 'p@ss', tls: {}, maxRetriesPerRequest: null });
  assert.is(parseRedisUrl('redis://[::1]').host, '::1');
  assert.is(parseRedisUrl('redis://localhost').port, 6379);
  for (const [bad, reason] of [['localhost:6379', /redis:\/\/ or rediss:\/\/ URL/], ['nope', /must be a redis:\/\/ URL/], ['redis://h/x', /database number/], ['redis://h?tls=1', /query strings/]] as const) {
    assert.throws(() => parseRedisUrl(bad), (e: Error) => reason.test(e.message));
  }
});

test('messages on the events channel: only well-formed ones are taken', () => {
  const event = { runId: job.runId, attempt: 'a1', worker: 'w', event: { type: 'node:start', nodeId: 'a', nodeType: 'core/Number', seq: 0, t: 1 } };
  assert.equal(parseRemoteMessage(JSON.stringify(event)), event);
  assert.equal(parseRemoteMessage(JSON.stringify({ runId: job.runId, worker: 'w', refused: 'why' })), { runId: job.runId, worker: 'w', refused: 'why' });
  for (const bad of ['{', '[]', JSON.stringify({ ...event, runId: '../x' }), JSON.stringify({ ...event, event: { type: 'evil' } }), JSON.stringify({ ...event, event: { type: 'node:start', nodeId: 3 } }), JSON.stringify({ ...event, attempt: 1 }),
    // Fields the server reads later must be there: a node:error without its error, a node:output
    // without outputs or a run:failed without errors would throw inside the run's subscriber.
    JSON.stringify({ ...event, event: { type: 'node:error', nodeId: 'a', nodeType: 'core/Number', seq: 0, t: 1 } }),
    JSON.stringify({ ...event, event: { type: 'node:output', nodeId: 'a', nodeType: 'core/Number', seq: 0, t: 1 } }),
    JSON.stringify({ ...event, event: { type: 'run:failed', seq: 0, t: 1, durationMs: 1 } })]) {
    assert.is(parseRemoteMessage(bad), undefined, bad);
  }
});

test("a worker refuses a job whose runs folder id is not its own runs folder's", () => {
  const all = new Set(['core/Number', 'good/Triple']);
  const marked = runJobOf({ runId: job.runId, graph }, '0.1.0', { runsDirId: 'ab'.repeat(16) });
  assert.ok('job' in parseRunJob(JSON.parse(JSON.stringify(marked))));
  assert.ok('error' in parseRunJob({ ...marked, runsDirId: '../x' }));
  assert.is(refusalOf(marked, '0.1.0', all, { path: '/shared/runs', id: 'ab'.repeat(16) }), undefined);
  assert.match(refusalOf(marked, '0.1.0', all, { path: '/tmp/runs', id: 'cd'.repeat(16) })!, /runs folder \/tmp\/runs is not the server's shared runs folder \(its \.tessera-runs-id names another folder\)/);
  assert.match(refusalOf(marked, '0.1.0', all, { path: '/tmp/runs', id: undefined })!, /has no \.tessera-runs-id/);
  // A job without the id (queued by an older server) is not judged on it.
  assert.is(refusalOf(job, '0.1.0', all, { path: '/tmp/runs', id: undefined }), undefined);
});

test('Redis beyond loopback needs a password or TLS, unless --insecure-redis', () => {
  for (const host of ['127.0.0.1', '127.3.2.1', 'localhost', 'LOCALHOST', 'x.localhost', '::1', '::ffff:7f00:1']) assert.ok(isLoopbackHost(host), host);
  for (const host of ['10.0.0.5', '0.0.0.0', '128.0.0.1', 'redis.example', '::', '::ffff:a00:5', 'localhost.example.com', '127.0.0.1.nip.io']) assert.not.ok(isLoopbackHost(host), host);
  assert.match(insecureRedisReason({ host: '10.0.0.5' })!, /not on loopback .*neither a password .*nor TLS .*--insecure-redis/);
  assert.is(insecureRedisReason({ host: '10.0.0.5', password: 'p' }), undefined);
  assert.is(insecureRedisReason({ host: '10.0.0.5', tls: {} }), undefined);
  assert.is(insecureRedisReason({ host: '10.0.0.5' }, true), undefined);
  assert.is(insecureRedisReason({ host: '127.0.0.1' }), undefined);
  // Through the URL parser, as serve, worker and sweep read --queue.
  assert.throws(() => parseRedisUrl('redis://redis.example:6379'), /not on loopback/);
  assert.throws(() => parseRedisUrl('redis://user@redis.example:6379'), /not on loopback/);
  assert.is(parseRedisUrl('redis://:secret@redis.example').password, 'secret');
  assert.is(parseRedisUrl('redis://redis.example', { insecure: true }).host, 'redis.example');
  assert.is(parseRedisUrl('redis://[::ffff:127.0.0.1]:6380').port, 6380);
});

test("a completed job's result gives back the run's last event only when it is well-formed and of that run", () => {
  const terminal = { runId: job.runId, attempt: 'a', worker: 'w', event: { type: 'run:done', seq: 3, t: 1, durationMs: 1, results: { s: { y: 1 } } } };
  assert.equal(terminalOfResult({ status: 'run:done', terminal }, job.runId), terminal);
  assert.is(terminalOfResult({ status: 'run:done', terminal }, '20261207-191501-000-000000'), undefined);
  assert.is(terminalOfResult({ status: 'run:done', terminal: { ...terminal, event: { type: 'node:start', nodeId: 'a', nodeType: 't' } } }, job.runId), undefined);
  assert.is(terminalOfResult({ status: 'run:done', terminal: { ...terminal, event: { type: 'run:done', durationMs: 1 } } }, job.runId), undefined);
  assert.is(terminalOfResult({ status: 'run:done' }, job.runId), undefined);
  assert.is(terminalOfResult('nonsense', job.runId), undefined);
});

test.run();
