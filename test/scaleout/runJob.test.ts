import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { GraphDocument } from '../../core/graph/GraphDocument.ts';
import { parseRunJob, refusalOf, runJobOf } from '../../core/queue/RunJob.ts';
import { parseRedisUrl } from '../../core/queue/redisUrl.ts';
import { parseRemoteMessage } from '../../core/queue/remoteMessage.ts';

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

test.run();
