import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventLog } from '../../core/records/EventLog.ts';
import { lastEvent, readEventLines } from '../../core/records/readEvents.ts';
import { DiskWriteError } from '../../core/util/diskError.ts';
import { tempWorkspace } from './helpers.ts';

const line = (seq: number, extra = '') => JSON.stringify({ type: 'node:log', seq, message: extra });

test('appends lines in order, creating the folder; flush makes them readable; close ends the file', async () => {
  const path = join(tempWorkspace(), 'run', 'events.jsonl');
  const log = new EventLog(path);
  for (let i = 0; i < 5000; i++) log.append(line(i));
  await log.flush();
  assert.is(readFileSync(path, 'utf8').trim().split('\n').length, 5000);
  log.append(line(5000));
  await log.close();
  log.append(line(5001)); // after close: ignored
  await log.flush();
  const seqs = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l).seq);
  assert.equal(seqs, Array.from({ length: 5001 }, (_, i) => i));
});

test('a writer more than 8 MiB ahead of the disk is asked to wait, and released once it catches up', async () => {
  const log = new EventLog(join(tempWorkspace(), 'events.jsonl'));
  assert.is(log.drained(), undefined);
  const big = 'x'.repeat(64 * 1024);
  for (let i = 0; i < 200; i++) log.append(line(i, big)); // ~13 MB at once
  const wait = log.drained();
  assert.ok(wait instanceof Promise, `backlog ${log.backlog}`);
  await wait;
  assert.ok(log.backlog < 8 * 1024 * 1024);
  await log.close();
});

test('a failing disk stops the log, not the caller: the error is kept, nothing throws or waits', async () => {
  const dir = tempWorkspace();
  writeFileSync(join(dir, 'file'), '');
  const log = new EventLog(join(dir, 'file', 'events.jsonl')); // a folder that cannot exist
  for (let i = 0; i < 100; i++) log.append(line(i, 'x'.repeat(100_000)));
  await log.flush();
  assert.ok(log.error, 'the error is kept');
  assert.is(log.drained(), undefined, 'a dead log holds nobody back');
  log.append(line(101));
  await log.close();
});

test('a full device: the error is a DiskWriteError naming the log, onError is told once', async () => {
  const dir = tempWorkspace();
  symlinkSync('/dev/full', join(dir, 'events.jsonl'));
  const errors: Error[] = [];
  const log = new EventLog(join(dir, 'events.jsonl'), { onError: (e) => errors.push(e) });
  for (let i = 0; i < 50; i++) log.append(line(i, 'x'.repeat(10_000)));
  await log.flush();
  log.append(line(51));
  await log.close();
  assert.is(errors.length, 1);
  assert.ok(log.error instanceof DiskWriteError);
  assert.is((log.error as DiskWriteError).code, 'ENOSPC');
  assert.is((log.error as DiskWriteError).path, join(dir, 'events.jsonl'));
});

test('reading back: pages from a position, skips a torn last line; lastEvent reads the end only', async () => {
  const path = join(tempWorkspace(), 'events.jsonl');
  writeFileSync(path, Array.from({ length: 30 }, (_, i) => line(i)).join('\n') + '\n');
  appendFileSync(path, '{"type":"node:log","seq":30,"mess'); // killed mid-write
  assert.equal((await readEventLines(path, 25, 100)).map((e) => e.seq), [25, 26, 27, 28, 29]);
  assert.equal((await readEventLines(path, 3, 2)).map((e) => e.seq), [3, 4]);
  assert.is((await lastEvent(path))?.seq, 29);
  assert.equal(await readEventLines(join(path, 'missing'), 0, 10), []);
  assert.is(await lastEvent(join(path, 'missing')), undefined);
});

test.run();
