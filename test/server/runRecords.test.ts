import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAjv } from '../../core/util/createAjv.ts';
import { parseRunRecord } from '../../core/records/RunRecord.ts';
import { readRunRecord } from '../../core/records/readRunRecord.ts';
import { call, graph, startServer, tempWorkspace, waitForRun, waitUntil } from './helpers.ts';

// One run.json schema for `tessera run` and `tessera serve` (core/records), checked against
// schemas/run-record.schema.json on records both really wrote; the server lists the CLI's runs.

const root = new URL('../../', import.meta.url).pathname;
const ajv = createAjv();
const validate = ajv.compile(JSON.parse(readFileSync(join(root, 'schemas/run-record.schema.json'), 'utf8')) as object);
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
/** The status run.json holds, or undefined before it is written. */
const statusOn = (dir: string) => (existsSync(join(dir, 'run.json')) ? readJson(join(dir, 'run.json')).status : undefined);
const lineCount = (dir: string) => readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').length;

function assertValid(record: unknown, what: string): void {
  assert.ok(validate(record), `${what}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(record, null, 2)}`);
}

/** Runs the real `tessera` executable; `onStdout` may kill it. */
function tessera(args: string[], onStdout?: (chunk: string, kill: () => void) => void): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin/tessera.mjs'), ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
    let stderr = '';
    child.stdout.on('data', (d) => onStdout?.(String(d), () => child.kill('SIGKILL')));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const FAST = ['--set', 'slowA.ms=0', '--set', 'slowB.ms=0', '--set', 'count.intervalMs=0'];

test('`tessera run` and the server write one run.json schema; the server lists CLI runs, a killed one as interrupted', async () => {
  const ws = tempWorkspace();
  const runs = join(ws, 'runs');

  // A CLI run that finishes, and one killed mid-run (its run.json still says running).
  const cliDone = join(runs, 'cli-done');
  const ok = await tessera(['run', 'graphs/demo.json', ...FAST, '--out', cliDone]);
  assert.is(ok.code, 0, ok.stderr);
  const doneRecord = readJson(join(cliDone, 'run.json'));
  assertValid(doneRecord, 'CLI run.json (done)');
  assert.is(doneRecord.status, 'done');
  assert.is(doneRecord.writer, 'cli');
  assert.is(doneRecord.eventCount, lineCount(cliDone));
  assert.is(typeof doneRecord.results, 'object');

  const cliKilled = join(runs, 'cli-killed');
  let killed = false;
  const k = await tessera(['run', 'graphs/demo.json', '--set', 'count.intervalMs=200', '--out', cliKilled], (chunk, kill) => {
    if (!killed && chunk.includes('count: 2/20')) {
      killed = true;
      kill();
    }
  });
  assert.is(k.code, null, 'killed by a signal');
  const running = readJson(join(cliKilled, 'run.json'));
  assertValid(running, 'CLI run.json (running)');
  assert.is(running.status, 'running');
  assert.is(typeof running.pid, 'number');

  const server = await startServer({ workspace: ws });
  try {
    const listed = (await call(server.url, 'GET', '/api/runs')).json.runs as { id: string; status: string; label?: string; eventCount: number }[];
    const done = listed.find((r) => r.id === 'cli-done');
    const interrupted = listed.find((r) => r.id === 'cli-killed');
    assert.equal([done?.status, done?.label, done?.eventCount], ['done', 'graphs/demo.json', doneRecord.eventCount]);
    assert.is(interrupted?.status, 'interrupted');
    assert.is(interrupted?.eventCount, lineCount(cliKilled));
    // Settled on disk, in the same schema, so the next reader need not guess again.
    const settled = readJson(join(cliKilled, 'run.json'));
    assertValid(settled, 'settled CLI run.json');
    assert.is(settled.status, 'interrupted');
    assert.is(settled.pid, undefined);
    assert.is((await call(server.url, 'GET', '/api/runs/cli-killed/events')).json.events[0].type, 'run:start');

    // The server's own records: done, and cancelled while running.
    const fast = graph({ n: { type: 'core/Number', params: { value: 3 } }, p: { type: 'core/Print', inputs: { value: { node: 'n', output: 'value' } } } }, { name: 'fast' });
    const a = (await call(server.url, 'POST', '/api/runs', { body: { graph: fast, seed: 7, label: 'fast.json' } })).json.run.id as string;
    assert.is((await waitForRun(server.url, a)).status, 'done');
    const serverDir = join(runs, a);
    await waitUntil(async () => statusOn(serverDir) === 'done');
    const serverRecord = readJson(join(serverDir, 'run.json'));
    assertValid(serverRecord, 'server run.json (done)');
    assert.equal([serverRecord.writer, serverRecord.runId, serverRecord.label, serverRecord.graphName, serverRecord.seed], ['server', a, 'fast.json', 'fast', 7]);
    assert.is(serverRecord.eventCount, lineCount(serverDir));

    const sleepy = graph({ s: { type: 'servertest/Sleep', params: { ms: 10_000 } } });
    const b = (await call(server.url, 'POST', '/api/runs', { body: { graph: sleepy } })).json.run.id as string;
    await waitUntil(async () => (await call(server.url, 'GET', `/api/runs/${b}`)).json.status === 'running');
    await waitUntil(async () => statusOn(join(runs, b)) === 'running');
    assertValid(readJson(join(runs, b, 'run.json')), 'server run.json (running)');
    assert.is((await call(server.url, 'POST', `/api/runs/${b}/cancel`)).status, 202);
    await waitUntil(async () => statusOn(join(runs, b)) === 'cancelled');
    assertValid(readJson(join(runs, b, 'run.json')), 'server run.json (cancelled)');
  } finally {
    await server.close();
  }
});

test('run.json files of both older shapes (the server\'s and the CLI\'s) are still read and listed', async () => {
  const ws = tempWorkspace();
  const oldServer = join(ws, 'runs', 'old-server');
  const oldCli = join(ws, 'runs', 'old-cli');
  mkdirSync(oldServer, { recursive: true });
  mkdirSync(oldCli, { recursive: true });
  copyFileSync(join(root, 'test/fixtures/records/old-server-run.json'), join(oldServer, 'run.json'));
  copyFileSync(join(root, 'test/fixtures/records/old-cli-run.json'), join(oldCli, 'run.json'));
  writeFileSync(join(oldCli, 'events.jsonl'), ['run:start', 'run:failed'].map((type, seq) => JSON.stringify({ type, runId: 'x', seq, t: seq })).join('\n') + '\n');

  const server = (await readRunRecord(oldServer))!;
  assertValid(server, 'old server shape, as read');
  assert.equal([server.status, server.writer, server.runId, server.label, server.seed, server.eventCount], ['done', 'server', '20251101-120000-000-abc123', 'fast.json', 5, 9]);
  const cli = (await readRunRecord(oldCli))!;
  assertValid(cli, 'old CLI shape, as read');
  assert.equal([cli.status, cli.writer, cli.file, cli.errors?.[0]?.name], ['failed', 'cli', 'graphs/demo.json', 'DiskWriteError']);
  assert.not.ok('stack' in cli.errors![0]!, 'stacks are not kept');
  // An old CLI record that never finished is a running one (and not a record of anything else).
  assert.is(parseRunRecord({ file: 'g.json', status: 'running', pid: 1, startedAt: '2025-01-01T00:00:00.000Z' }, new Date())?.status, 'running');
  assert.is(parseRunRecord({ status: 'run:weird' }, new Date()), undefined);
  assert.is(parseRunRecord(['not', 'a', 'record'], new Date()), undefined);

  const s = await startServer({ workspace: ws });
  try {
    const listed = (await call(s.url, 'GET', '/api/runs')).json.runs as { id: string; status: string; label?: string; eventCount: number; errors?: unknown[] }[];
    const a = listed.find((r) => r.id === 'old-server');
    const b = listed.find((r) => r.id === 'old-cli');
    assert.equal([a?.status, a?.label, a?.eventCount], ['done', 'fast.json', 9]);
    assert.equal([b?.status, b?.label, b?.eventCount, b?.errors?.length], ['failed', 'graphs/demo.json', 2, 1]);
    // Finished records are read, never rewritten.
    assert.is(readFileSync(join(oldServer, 'run.json'), 'utf8'), readFileSync(join(root, 'test/fixtures/records/old-server-run.json'), 'utf8'));
  } finally {
    await s.close();
  }
});

test.run();
