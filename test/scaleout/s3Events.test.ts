import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openArtifactStore } from '../../core/storage/openArtifactStore.ts';
import { RemoteRuns } from '../../core/storage/RemoteRuns.ts';
import { RunDirSync } from '../../core/storage/RunDirSync.ts';
import type { S3ArtifactStore } from '../../core/storage/S3ArtifactStore.ts';
import { tempWorkspace } from '../server/helpers.ts';
import { recordingStore } from './recordingStore.ts';
import { startS3, useS3Env, type S3Server } from './s3Server.ts';

// RemoteRuns reading stored runs' events (GET …/events pages, WebSocket replays) against a real
// S3-compatible server (s3rver, its own process): each run's events.jsonl is downloaded once, the
// copies of the 4 most recently read runs are kept (an evicted one's temp folder is deleted, all
// of them on close), and an events.jsonl over the cap is refused with its size.

let s3: S3Server;
let store: S3ArtifactStore;
let restoreEnv = () => {};
const ids = ['20261208-010101-000-aaaaaa', '20261208-010102-000-aaaaaa', '20261208-010103-000-aaaaaa', '20261208-010104-000-aaaaaa', '20261208-010105-000-aaaaaa'];

test.before(async () => {
  s3 = await startS3();
  restoreEnv = useS3Env(s3);
  const opened = await openArtifactStore({ url: `s3://${s3.bucket}/events`, endpoint: s3.endpoint });
  if (typeof opened === 'string') throw new Error(opened);
  store = opened;
  for (const id of ids) {
    const dir = tempWorkspace('tessera-s3-events-');
    const events = Array.from({ length: 30 }, (_, seq) => JSON.stringify({ type: 'node:log', runId: id, seq, t: seq, nodeId: 'a', nodeType: 'core/Number', level: 'info', message: `line ${seq}` }));
    writeFileSync(join(dir, 'graph.json'), JSON.stringify({ format: 'tessera-graph', version: 1, nodes: {} }));
    writeFileSync(join(dir, 'events.jsonl'), events.join('\n') + '\n');
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ format: 'tessera-run', version: 1, runId: id, writer: 'server', status: 'done', createdAt: new Date().toISOString(), eventCount: 30 }));
    await new RunDirSync(store, id, dir).finish();
  }
});

test.after(async () => {
  await s3?.stop();
  restoreEnv();
});

/** The events copies in `tmp`. */
function copies(tmp: string): string[] {
  return readdirSync(tmp).filter((n) => n.startsWith('tessera-events-'));
}

test('pages of a stored run download its events.jsonl once; 4 runs are kept, the rest deleted, all on close', async () => {
  const saved = process.env.TMPDIR;
  const tmp = mkdtempSync(join(tmpdir(), 'tessera-events-tmp-'));
  process.env.TMPDIR = tmp; // os.tmpdir(): where the copies go, counted here
  try {
    const r = recordingStore(store);
    const remote = new RemoteRuns(r.store);
    const first = await remote.events(ids[0], 0, 10);
    const second = await remote.events(ids[0], 10, 10);
    assert.equal(first!.map((e) => e.seq), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(second!.map((e) => e.seq), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    assert.is((await remote.replay(ids[0]))!.length > 0, true);
    assert.equal(r.downloads, ['events.jsonl']);
    assert.is(copies(tmp).length, 1);
    for (const id of ids) await remote.events(id, 0, 1);
    // ids[0] was read first: it left when the 5th run came, and its folder went with it.
    assert.is(copies(tmp).length, 4);
    assert.is(r.downloads.length, 5);
    await remote.events(ids[4], 5, 1);
    assert.is(r.downloads.length, 5);
    await remote.events(ids[0], 0, 1);
    assert.is(r.downloads.length, 6);
    assert.is(copies(tmp).length, 4);
    await remote.close();
    assert.equal(copies(tmp), []);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
});

test('an events.jsonl over the cap is refused with its size', async () => {
  const remote = new RemoteRuns(store, { maxEventsBytes: 100 });
  try {
    await remote.events(ids[1], 0, 10);
    assert.unreachable('an events.jsonl over the cap was read');
  } catch (error) {
    assert.match((error as Error).message, /^events\.jsonl of run 20261208-010102-000-aaaaaa is \d+ bytes: more than the 100 bytes read from s3:\/\//);
  }
  await remote.close();
});

test.run();
