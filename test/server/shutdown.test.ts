import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TAIL_EVENTS } from '../../core/server/ReplayBuffer.ts';
import { call, graph, startServer, tempWorkspace, waitUntil } from './helpers.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const endless = graph({ c: { type: 'core/CountStream', params: { count: 1e9 } }, p: { type: 'core/Print', inputs: { value: { node: 'c', output: 'value' } } } });

interface Child {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `tessera serve` as its own process (the real CLI, signals and all), on a free loopback port. */
async function serve(workspace: string): Promise<Child> {
  const proc = spawn(process.execPath, ['bin/tessera.mjs', 'serve', '--port', '0', '--workspace', workspace], { cwd: root, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (!(url = /serving (http:\/\/\S+)/.exec(out)?.[1])) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`tessera serve did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, url, output: () => out, exited };
}

/** Starts the endless stream and waits until it is well under way. */
async function startEndless(url: string): Promise<string> {
  const posted = await call(url, 'POST', '/api/runs', { body: { graph: endless } });
  assert.is(posted.status, 202, posted.text);
  const id = posted.json.run.id as string;
  await waitUntil(async () => (await call(url, 'GET', `/api/runs/${id}`)).json.eventCount > 1000, 20_000);
  return id;
}

test('SIGTERM during a 1e9-value stream: the server stops the run and exits within 5 s', async () => {
  const workspace = tempWorkspace();
  const child = await serve(workspace);
  try {
    const id = await startEndless(child.url);
    const t0 = performance.now();
    child.proc.kill('SIGTERM');
    const exit = await Promise.race([child.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))]);
    const ms = performance.now() - t0;
    assert.ok(exit, `still running 5 s after SIGTERM:\n${child.output()}`);
    console.log(`  [SIGTERM] exited after ${ms.toFixed(0)} ms`);
    assert.is(exit!.code, 0, child.output());
    const record = JSON.parse(readFileSync(join(workspace, 'runs', id, 'run.json'), 'utf8'));
    assert.ok(['cancelled', 'interrupted'].includes(record.status), record.status);
    const lines = readFileSync(join(workspace, 'runs', id, 'events.jsonl'), 'utf8').trim().split('\n');
    assert.is(JSON.parse(lines[lines.length - 1]!).type, 'run:cancelled');
    assert.is(record.eventCount, lines.length);
  } finally {
    child.proc.kill('SIGKILL');
  }
});

test('kill -9 mid-run: after a restart the run is listed as interrupted, with its events so far', async () => {
  const workspace = tempWorkspace();
  const child = await serve(workspace);
  let id: string;
  try {
    id = await startEndless(child.url);
    // Events reach the file within a few ms; kill once some have (what is still in memory is lost).
    const file = join(workspace, 'runs', id, 'events.jsonl');
    await waitUntil(async () => existsSync(file) && statSync(file).size > 100_000, 10_000);
  } finally {
    child.proc.kill('SIGKILL');
  }
  assert.is((await child.exited).signal, 'SIGKILL');
  const server = await startServer({ workspace });
  try {
    const run = (await call(server.url, 'GET', `/api/runs/${id}`)).json;
    assert.is(run.status, 'interrupted');
    assert.ok(run.eventCount > 500, `${run.eventCount} events`);
    assert.ok((await call(server.url, 'GET', '/api/runs')).json.runs.some((r: { id: string; status: string }) => r.id === id && r.status === 'interrupted'));
    const events = (await call(server.url, 'GET', `/api/runs/${id}/events`)).json.events as { type: string; seq: number }[];
    assert.is(events[0]!.type, 'run:start');
    assert.ok(events.some((e) => e.type === 'node:output' && (e as { nodeId?: string }).nodeId === 'c'));
    assert.not.ok(events.some((e) => e.type.startsWith('run:') && e.type !== 'run:start'), 'no ending was recorded');
    assert.ok(events.every((e, i) => e.seq === i));
    const tail = (await call(server.url, 'GET', `/api/runs/${id}/events?since=${run.eventCount - 1}`)).json.events;
    assert.is(tail.length, 1, 'the last whole event is the last one listed');
    // A client joining it is replayed every node's last state and the last events, in bounded memory.
    const replay = (await server.queue.replay(id))!;
    assert.is(replay[0]!.type, 'run:start');
    for (const node of ['c', 'p']) assert.ok(replay.some((e) => e.type === 'node:start' && e.nodeId === node), `node:start of ${node}`);
    assert.ok(replay.length <= 2 * TAIL_EVENTS + 20, `replay of ${replay.length} events`);
    assert.is(replay[replay.length - 1]!.seq, run.eventCount - 1);
    // The record is settled on disk too, so the next restart need not guess again.
    assert.is(JSON.parse(readFileSync(join(workspace, 'runs', id, 'run.json'), 'utf8')).status, 'interrupted');
  } finally {
    await server.close();
  }
});

test.run();
