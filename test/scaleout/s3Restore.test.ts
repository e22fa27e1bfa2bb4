import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openArtifactStore } from '../../core/storage/openArtifactStore.ts';
import { RunDirSync } from '../../core/storage/RunDirSync.ts';
import type { S3ArtifactStore } from '../../core/storage/S3ArtifactStore.ts';
import { tempWorkspace } from '../server/helpers.ts';
import { recordingStore } from './recordingStore.ts';
import { startS3, useS3Env, type S3Server } from './s3Server.ts';

// RunDirSync.restore against a real S3-compatible server (s3rver, its own process): a takeover
// restores what the earlier attempt stored, does not send it back on its first push, and
// replaces a stale local copy of a fixed-name file even when it has the same size.

let s3: S3Server;
let store: S3ArtifactStore;
let restoreEnv = () => {};

test.before(async () => {
  s3 = await startS3();
  restoreEnv = useS3Env(s3);
  const opened = await openArtifactStore({ url: `s3://${s3.bucket}/restore`, endpoint: s3.endpoint });
  if (typeof opened === 'string') throw new Error(opened);
  store = opened;
});

test.after(async () => {
  await s3?.stop();
  restoreEnv();
});

test('after a restore, the first push uploads none of the restored files; a file changed since is sent', async () => {
  const id = '20261208-131313-000-abcdef';
  const first = tempWorkspace('tessera-s3-first-');
  mkdirSync(join(first, 'checkpoints'), { recursive: true });
  writeFileSync(join(first, 'checkpoints', 'step-1.bin'), 'weights one');
  writeFileSync(join(first, 'checkpoints', 'step-2.bin'), 'weights two');
  writeFileSync(join(first, 'history.json'), '[1]');
  assert.is(await new RunDirSync(store, id, first).push(), 3);
  // The takeover, on another machine (an empty folder).
  const second = tempWorkspace('tessera-s3-second-');
  const r = recordingStore(store);
  const sync = new RunDirSync(r.store, id, second);
  assert.is(await sync.restore(), 3);
  assert.is(readFileSync(join(second, 'checkpoints', 'step-2.bin'), 'utf8'), 'weights two');
  assert.is(await sync.push(), 0);
  assert.equal(r.puts, []);
  writeFileSync(join(second, 'history.json'), '[1, 2]');
  assert.is(await sync.push(), 1);
  assert.equal(r.puts, ['history.json']);
});

test('restore replaces a same-size local file whose content differs (ETag), and keeps an identical one', async () => {
  const id = '20261208-141414-000-abcdef';
  const stored = tempWorkspace('tessera-s3-stored-');
  writeFileSync(join(stored, 'history.json'), '[1,2,3]');
  writeFileSync(join(stored, 'log.txt'), 'same');
  assert.is(await new RunDirSync(store, id, stored).push(), 2);
  // This machine ran the run before: its copies are the same size, one of them stale.
  const local = tempWorkspace('tessera-s3-local-');
  writeFileSync(join(local, 'history.json'), '[1,2,0]');
  writeFileSync(join(local, 'log.txt'), 'same');
  const r = recordingStore(store);
  const sync = new RunDirSync(r.store, id, local);
  assert.is(await sync.restore(), 1);
  assert.equal(r.downloads, ['history.json']);
  assert.is(readFileSync(join(local, 'history.json'), 'utf8'), '[1,2,3]');
  // Both are the store's content now: nothing to send back.
  assert.is(await sync.push(), 0);
  assert.equal(r.puts, []);
});

test.run();
