import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { openArtifactStore } from '../../core/storage/openArtifactStore.ts';
import { RunDirSync } from '../../core/storage/RunDirSync.ts';
import type { S3ArtifactStore } from '../../core/storage/S3ArtifactStore.ts';
import { retryDelayMs, UPLOAD_RETRY, withRetries } from '../../core/storage/withRetries.ts';
import { graph, tempWorkspace, waitUntil } from '../server/helpers.ts';
import { startS3, type S3Server } from './s3Server.ts';

// Uploads against a real S3-compatible server (s3rver, its own process): files above the
// multipart threshold go up in parts, and a final upload that fails is tried again.

let s3: S3Server;
let store: S3ArtifactStore;
const PREFIX = 'up';

test.before(async () => {
  s3 = await startS3();
  const env = { ...process.env, ...s3.env, TESSERA_S3_PART_MIB: '5' };
  // The client reads credentials from process.env (the SDK's chain), as `serve` and `worker` do.
  for (const [k, v] of Object.entries(s3.env)) process.env[k] = v;
  const opened = await openArtifactStore({ url: `s3://${s3.bucket}/${PREFIX}`, endpoint: s3.endpoint, env });
  if (typeof opened === 'string') throw new Error(opened);
  store = opened;
});

test.after(async () => {
  await s3?.stop();
});

/**
 * A recording HTTP proxy in front of s3rver: every request's method and query names are noted,
 * and `failPart` makes it answer 500 to UploadPart requests of that part number (the first
 * `failTimes` of them; a `failPart` of 0: the first PUTs of a whole object).
 */
async function recordingProxy(failPart?: number, failTimes = Infinity): Promise<{ url: string; seen: string[]; connections(): Promise<number>; close(): void }> {
  const target = new URL(s3.endpoint);
  const seen: string[] = [];
  const proxy = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    // The SDK's own x-id (the operation's name) is left out: the S3 API is the rest.
    seen.push(`${req.method} ${[...url.searchParams.keys()].filter((k) => k !== 'x-id').sort().join(',')}`);
    const refused = failPart === 0 ? req.method === 'PUT' && !url.searchParams.has('partNumber') : url.searchParams.get('partNumber') === String(failPart);
    if (failPart !== undefined && refused && failTimes-- > 0) {
      req.resume();
      res.writeHead(500, { 'Content-Type': 'application/xml' }).end('<Error><Code>InternalError</Code><Message>part refused by the test</Message></Error>');
      return;
    }
    const out = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  proxy.keepAliveTimeout = 60_000; // an idle client connection is closed by the client, not after Node's 5 s
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  const connections = () => new Promise<number>((resolve, reject) => proxy.getConnections((error, n) => (error ? reject(error) : resolve(n))));
  return { url: `http://127.0.0.1:${(proxy.address() as { port: number }).port}`, seen, connections, close: () => proxy.close() };
}

test('a file above the threshold (TESSERA_S3_PART_MIB=5) goes up in parts and comes back byte for byte; a small one in one PUT', async () => {
  const proxy = await recordingProxy();
  try {
    const opened = await openArtifactStore({ url: `s3://${s3.bucket}/${PREFIX}`, endpoint: proxy.url, env: { ...process.env, TESSERA_S3_PART_MIB: '5' } });
    if (typeof opened === 'string') throw new Error(opened);
    const dir = tempWorkspace('tessera-s3-big-');
    const big = join(dir, 'weights.bin');
    const bytes = randomBytes(20_000_000); // 4 parts of 5 MiB (the last one shorter)
    writeFileSync(big, bytes);
    writeFileSync(join(dir, 'small.json'), '{"a":1}');
    const id = '20261208-121212-000-abcdef';
    proxy.seen.length = 0;
    await opened.putFile(id, 'ckpt/weights.bin', big);
    assert.equal(proxy.seen, ['POST uploads', 'PUT partNumber,uploadId', 'PUT partNumber,uploadId', 'PUT partNumber,uploadId', 'PUT partNumber,uploadId', 'POST uploadId']);
    proxy.seen.length = 0;
    await opened.putFile(id, 'small.json', join(dir, 'small.json'));
    assert.equal(proxy.seen, ['PUT ']);
    const back = join(dir, 'back.bin');
    assert.ok(await store.download(id, 'ckpt/weights.bin', back));
    assert.ok(readFileSync(back).equals(bytes), 'the same bytes');
    const listed = (await store.listFiles(id)).find((f) => f.path === 'ckpt/weights.bin');
    assert.is(listed?.size, bytes.length);
  } finally {
    proxy.close();
  }
});

test('a part that fails aborts the multipart upload: no object, the reason in the error', async () => {
  const proxy = await recordingProxy(2);
  try {
    const { S3ArtifactStore } = await import('../../core/storage/S3ArtifactStore.ts');
    const failing = new S3ArtifactStore({ bucket: s3.bucket, prefix: PREFIX }, { endpoint: proxy.url, multipartThreshold: 5 * 1024 * 1024, partBytes: 5 * 1024 * 1024 });
    const dir = tempWorkspace('tessera-s3-abort-');
    writeFileSync(join(dir, 'big.bin'), randomBytes(12 * 1024 * 1024));
    const id = '20261208-141414-000-abcdef';
    let why = '';
    await failing.putFile(id, 'big.bin', join(dir, 'big.bin')).catch((error: Error) => (why = error.message));
    assert.match(why, /cannot upload to s3:\/\/tessera-runs\/up \(in parts\): InternalError \(HTTP 500\)/);
    assert.is(proxy.seen.at(-1), 'DELETE uploadId');
    assert.not.ok(proxy.seen.some((r) => r === 'POST uploadId'), 'never completed');
    assert.equal(await store.listFiles(id), []);
  } finally {
    proxy.close();
  }
});

test('a part or a PUT answered 500 once is repeated by the S3 client (its body is in memory): the upload succeeds', async () => {
  for (const failPart of [2, 0]) {
    const proxy = await recordingProxy(failPart, 1);
    try {
      const { S3ArtifactStore } = await import('../../core/storage/S3ArtifactStore.ts');
      const flaky = new S3ArtifactStore({ bucket: s3.bucket, prefix: PREFIX }, { endpoint: proxy.url, multipartThreshold: 5 * 1024 * 1024, partBytes: 5 * 1024 * 1024 });
      const dir = tempWorkspace('tessera-s3-flaky-');
      const bytes = randomBytes(failPart === 0 ? 1000 : 12 * 1024 * 1024);
      writeFileSync(join(dir, 'f.bin'), bytes);
      const id = '20261208-151515-000-abcdef';
      await flaky.putFile(id, `f${failPart}.bin`, join(dir, 'f.bin'));
      const parts = proxy.seen.filter((r) => r.startsWith('PUT'));
      assert.equal(parts, failPart === 0 ? ['PUT ', 'PUT '] : Array(4).fill('PUT partNumber,uploadId'), proxy.seen.join('\n'));
      assert.ok(await store.download(id, `f${failPart}.bin`, join(dir, 'back.bin')));
      assert.ok(readFileSync(join(dir, 'back.bin')).equals(bytes), 'the same bytes');
      flaky.close();
    } finally {
      proxy.close();
    }
  }
});

test('a part size below S3\'s 5 MiB, or not a number, is refused with the reason', async () => {
  for (const bad of ['1', 'lots']) {
    const got = await openArtifactStore({ url: `s3://${s3.bucket}/${PREFIX}`, endpoint: s3.endpoint, env: { ...process.env, TESSERA_S3_PART_MIB: bad } });
    assert.type(got, 'string');
    assert.match(got as string, 'TESSERA_S3_PART_MIB must be a number of MiB from 5 to 5120');
  }
});

test('a multipart upload to a bucket that is gone fails with S3\'s reason, naming the parts', async () => {
  const dir = tempWorkspace('tessera-s3-gone-');
  writeFileSync(join(dir, 'big.bin'), randomBytes(6 * 1024 * 1024));
  const { S3ArtifactStore } = await import('../../core/storage/S3ArtifactStore.ts');
  const gone = new S3ArtifactStore({ bucket: 'no-such-bucket', prefix: '' }, { endpoint: s3.endpoint, multipartThreshold: 5 * 1024 * 1024, partBytes: 5 * 1024 * 1024 });
  let why = '';
  await gone.putFile('20261208-121212-000-abcdef', 'big.bin', join(dir, 'big.bin')).catch((error: Error) => (why = error.message));
  assert.match(why, /cannot upload to s3:\/\/no-such-bucket \(in parts\): NoSuchBucket/);
});

test('withRetries: tries at most `tries` times with growing pauses, and gives the last error', async () => {
  assert.equal([2, 3].map((n) => retryDelayMs(UPLOAD_RETRY, n)), [1000, 4000]);
  let calls = 0;
  const heard: number[] = [];
  let why = '';
  await withRetries(async () => {
    calls++;
    throw new Error(`failure ${calls}`);
  }, { tries: 3, firstDelayMs: 1, factor: 2 }, (_e, n) => heard.push(n)).catch((error: Error) => (why = error.message));
  assert.is(calls, 3);
  assert.equal(heard, [2, 3]);
  assert.is(why, 'failure 3');
  calls = 0;
  assert.is(await withRetries(async () => (++calls < 2 ? Promise.reject(new Error('once')) : 'ok'), { tries: 3, firstDelayMs: 1, factor: 2 }), 'ok');
  assert.is(calls, 2);
});

test('a final upload that fails while the S3 service is down is tried again and succeeds once it is back', async () => {
  const dir = tempWorkspace('tessera-s3-retry-');
  const id = '20261208-131313-000-abcdef';
  mkdirSync(join(dir, 'images'));
  writeFileSync(join(dir, 'images', 'a.txt'), 'artifact');
  writeFileSync(join(dir, 'graph.json'), JSON.stringify(graph({})));
  writeFileSync(join(dir, 'events.jsonl'), JSON.stringify({ type: 'run:start', runId: id, seq: 0, t: 0 }) + '\n');
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ format: 'tessera-run', version: 1, runId: id, writer: 'server', status: 'done', createdAt: new Date().toISOString(), eventCount: 1 }));
  await s3.kill();
  const failures: string[] = [];
  let back: Promise<void> | undefined;
  // The service comes back during the first pause (3 s: s3rver starts within it on this machine).
  await new RunDirSync(store, id, dir).finish({ tries: 3, firstDelayMs: 3000, factor: 1 }, (error) => {
    failures.push((error as Error).message);
    back ??= s3.start();
  });
  await back;
  assert.ok(failures.length >= 1 && failures.length <= 2, failures.join('\n'));
  assert.match(failures[0]!, /does not answer \(ECONNREFUSED\)/);
  assert.equal((await store.listFiles(id)).map((f) => f.path).sort(), ['events.jsonl', 'graph.json', 'images/a.txt', 'run.json']);
});

test('close() ends the store\'s kept-alive connections; used again, it opens new ones', async () => {
  const proxy = await recordingProxy();
  try {
    const opened = await openArtifactStore({ url: `s3://${s3.bucket}/${PREFIX}`, endpoint: proxy.url });
    if (typeof opened === 'string') throw new Error(opened);
    await opened.listRunIds();
    assert.ok((await proxy.connections()) >= 1, 'a connection kept alive after the request');
    opened.close();
    await waitUntil(async () => (await proxy.connections()) === 0, 5000);
    assert.ok(Array.isArray(await opened.listRunIds()));
    opened.close();
  } finally {
    proxy.close();
  }
});

test.run();
