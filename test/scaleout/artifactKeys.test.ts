import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { artifactKey, keyPathProblem, parseS3Url, pathOfKey, runKeyPrefix, s3UrlOf, sweepKey } from '../../core/storage/artifactKeys.ts';
import { endpointProblem } from '../../core/storage/openArtifactStore.ts';
import { refusalOf, runJobOf, parseRunJob } from '../../core/queue/RunJob.ts';
import type { GraphDocument } from '../../core/graph/GraphDocument.ts';

// The keys of run directories in a bucket come from user text (the --artifacts prefix, paths in
// API URLs, keys listed from a bucket others write to): pure checks, no S3 needed.

const RUN = '20261208-101010-000-abcdef';
const loc = { bucket: 'tessera-runs', prefix: 'lab/exp' };

test('parseS3Url: bucket and prefix; credentials, bad buckets and dot segments are refused', () => {
  assert.equal(parseS3Url('s3://tessera-runs'), { bucket: 'tessera-runs', prefix: '' });
  assert.equal(parseS3Url('s3://tessera-runs/lab/exp/'), loc);
  assert.is(s3UrlOf(loc), 's3://tessera-runs/lab/exp');
  assert.throws(() => parseS3Url('http://x/y'), /must be an s3:\/\/bucket\/prefix URL/);
  assert.throws(() => parseS3Url('s3://Upper'), /not a bucket name/);
  assert.throws(() => parseS3Url('s3://a..b'), /not a bucket name/);
  assert.throws(() => parseS3Url('s3://bkt/../x'), /"\.\." segment/);
  assert.throws(() => parseS3Url('s3://bkt/x/./y'), /"\." segment/);
  assert.throws(() => parseS3Url('s3://bkt/x//y'), /empty segment/);
  assert.throws(() => parseS3Url('s3://bkt/x\\y'), /backslash/);
  assert.throws(() => parseS3Url('s3://bkt/x?y=1'), /query strings/);
  let message = '';
  try {
    parseS3Url('s3://AKID:topsecret@bucket/x');
  } catch (error) {
    message = (error as Error).message;
  }
  assert.match(message, 'credentials do not go in the URL');
  assert.not.match(message, 'topsecret');
});

test('artifactKey: a run\'s files under <prefix>/<runId>/; .., absolute, empty and control characters are refused', () => {
  assert.is(runKeyPrefix(loc, RUN), `lab/exp/${RUN}/`);
  assert.is(runKeyPrefix({ bucket: 'b', prefix: '' }, RUN), `${RUN}/`);
  assert.is(artifactKey(loc, RUN, 'images/out.png'), `lab/exp/${RUN}/images/out.png`);
  for (const bad of ['../x', 'a/../../b', '/etc/passwd', 'C:/x', 'a//b', 'a/', '', './a', 'a\\b', 'a\u0000b', 'a\nb']) {
    assert.throws(() => artifactKey(loc, RUN, bad), /refused/, bad);
    assert.ok(keyPathProblem(bad), bad);
  }
  assert.throws(() => artifactKey(loc, '../other', 'x'), /not a run id/);
  assert.is(sweepKey(loc, RUN, 'sweep.json'), `lab/exp/sweeps/${RUN}/sweep.json`);
  assert.throws(() => sweepKey(loc, '..', 'sweep.json'), /not a sweep id/);
  assert.throws(() => sweepKey(loc, RUN, '../x'), /refused/);
  assert.throws(() => artifactKey(loc, RUN, 'x'.repeat(1100)), /1024 bytes/);
});

test('pathOfKey: a listed key becomes a local path only when it is a safe one under the run', () => {
  assert.is(pathOfKey(loc, RUN, `lab/exp/${RUN}/checkpoints/step-20.bin`), 'checkpoints/step-20.bin');
  assert.is(pathOfKey(loc, RUN, `lab/exp/${RUN}/../../evil`), undefined);
  assert.is(pathOfKey(loc, RUN, `lab/exp/${RUN}//abs`), undefined);
  assert.is(pathOfKey(loc, RUN, `lab/exp/other/x`), undefined);
});

test('endpointProblem: http(s) only, never with credentials (echoed redacted)', () => {
  assert.is(endpointProblem('http://127.0.0.1:9000'), undefined);
  assert.is(endpointProblem('https://s3.lab:443'), undefined);
  assert.match(endpointProblem('ftp://x')!, 'http:// or https://');
  const p = endpointProblem('http://ak:verysecret@127.0.0.1:9000')!;
  assert.match(p, 'credentials do not go in the URL');
  assert.not.match(p, 'verysecret');
});

test('jobs name the store; a worker refuses a job whose store is not its own', () => {
  const graph = { format: 'tessera-graph', version: 1, nodes: { n: { type: 'core/Number', params: { value: 1 } } } } as unknown as GraphDocument;
  const job = runJobOf({ runId: RUN, graph }, '0.1.0', { artifacts: 's3://tessera-runs/lab/exp' });
  assert.ok('job' in parseRunJob(job));
  assert.ok('error' in parseRunJob({ ...job, artifacts: 'file:///etc' }));
  const types = new Set(['core/Number']);
  assert.is(refusalOf(job, '0.1.0', types, { path: '/w/runs', id: undefined, artifacts: 's3://tessera-runs/lab/exp' }), undefined);
  assert.match(refusalOf(job, '0.1.0', types, { path: '/w/runs', id: undefined })!, 'start it with --artifacts s3://tessera-runs/lab/exp');
  assert.match(refusalOf(job, '0.1.0', types, { path: '/w/runs', id: undefined, artifacts: 's3://tessera-runs/other' })!, 'uploads them to s3://tessera-runs/other');
  const shared = runJobOf({ runId: RUN, graph }, '0.1.0', { runsDirId: 'ab'.repeat(16) });
  assert.match(refusalOf(shared, '0.1.0', types, { path: '/w/runs', id: 'ab'.repeat(16), artifacts: 's3://b/x' })!, 'reads them from its shared runs folder');
  assert.is(refusalOf(shared, '0.1.0', types, { path: '/w/runs', id: 'ab'.repeat(16) }), undefined);
});

test.run();
