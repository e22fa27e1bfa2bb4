import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'tessera-cli-'));

/** Runs the real `tessera` executable. */
function tessera(args: string[], opts: { onStdout?: (chunk: string, kill: (sig: NodeJS.Signals) => void) => void } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin/tessera.mjs'), ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      opts.onStdout?.(String(d), (sig) => child.kill(sig));
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('run demo --json: exit 0, JSON-lines events ending in run:done, outputs and run record on disk', async () => {
  const out = join(tmp, 'demo1');
  const r = await tessera(['run', 'graphs/demo.json', '--json', '--seed', '3', '--out', out]);
  assert.is(r.code, 0, r.stderr);
  const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.is(events[0].type, 'run:start');
  assert.is(events[events.length - 1].type, 'run:done');
  assert.ok(events.some((e: { type: string }) => e.type === 'node:progress'));
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.stats, { length: 20, sum: 2870, mean: 143.5, min: 1, max: 400 });
  for (const f of ['graph.json', 'events.jsonl', 'run.json']) assert.ok(existsSync(join(out, f)), f);
  assert.is(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).status, 'done');
});

test('determinism across processes: same seed → identical outputs; --set changes them', async () => {
  const a = join(tmp, 'det-a');
  const b = join(tmp, 'det-b');
  const c = join(tmp, 'det-c');
  await tessera(['run', 'graphs/demo.json', '--seed', '11', '--out', a]);
  await tessera(['run', 'graphs/demo.json', '--seed', '11', '--out', b]);
  const r = await tessera(['run', 'graphs/demo.json', '--seed', '11', '--set', 'draw.max=0.5', '--set', 'count.count=3', '--out', c]);
  assert.is(r.code, 0, r.stderr);
  const read = (d: string) => JSON.parse(readFileSync(join(d, 'summary.json'), 'utf8'));
  assert.equal(read(a), read(b));
  assert.ok(read(c).randomDraw < 0.5);
  assert.is(read(c).stats.length, 3);
});

test('plain output names nodes as they start and finish', async () => {
  const r = await tessera(['run', 'graphs/demo.json', '--out', join(tmp, 'plain')]);
  assert.is(r.code, 0);
  assert.match(r.stdout, /▸ count \(core\/CountStream\) started/);
  assert.match(r.stdout, /✓ save \(core\/SaveJSON\) done/);
  assert.match(r.stdout, /done in/);
});

test('a failing node exits 1 and reports node, message and inputs', async () => {
  const file = join(tmp, 'fail.json');
  writeFileSync(file, JSON.stringify({ format: 'tessera-graph', version: 1, nodes: { n: { type: 'core/Number', params: { value: 2 } }, check: { type: 'core/Assert', params: { equals: 3, message: 'expected three' }, inputs: { value: { node: 'n', output: 'value' } } }, show: { type: 'core/Print', inputs: { value: { node: 'check', output: 'value' } } }, ok: { type: 'core/Print', inputs: { value: { node: 'n', output: 'value' } } } } }));
  const r = await tessera(['run', file, '--out', join(tmp, 'fail')]);
  assert.is(r.code, 1);
  assert.match(r.stdout, /✗ check \(core\/Assert\) failed: expected three \(got 2\)/);
  assert.match(r.stdout, /inputs: value=2/);
  assert.match(r.stdout, /✓ ok \(core\/Print\) done/);
  assert.match(r.stdout, /- show \(core\/Print\) skipped: upstream node "check" failed/);
});

test('usage errors and invalid graphs exit 2; --help and --version exit 0', async () => {
  assert.is((await tessera(['frobnicate'])).code, 2);
  assert.is((await tessera(['run'])).code, 2);
  assert.is((await tessera(['run', 'graphs/demo.json', '--seed', 'x'])).code, 2);
  const missing = await tessera(['run', 'no/such/file.json']);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /file not found/);
  const help = await tessera(['--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /run \[options\] <graph>/);
  assert.is((await tessera(['run', '--help'])).code, 0);
  const version = await tessera(['--version']);
  assert.is(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);
});

test('nodes --json lists every definition with ports and params', async () => {
  const r = await tessera(['nodes', '--json']);
  assert.is(r.code, 0);
  const defs = JSON.parse(r.stdout) as { type: string; inputs: object; outputs: object; params: object; plugin: string }[];
  const add = defs.find((d) => d.type === 'core/Add')!;
  assert.equal(add.inputs, { a: { type: 'NUMBER' }, b: { type: 'NUMBER' } });
  assert.is(add.plugin, 'core');
  assert.ok(defs.length >= 20);
  const plain = await tessera(['nodes']);
  assert.match(plain.stdout, /core\/Add\s+\(a:NUMBER b:NUMBER\) → \(sum:NUMBER\)/);
});

test('Ctrl-C cancels the run cleanly: exit 130, run record says cancelled', async () => {
  const out = join(tmp, 'cancel');
  let sent = false;
  const r = await tessera(['run', 'graphs/demo.json', '--set', 'count.intervalMs=500', '--out', out], {
    onStdout: (chunk, kill) => {
      if (!sent && chunk.includes('started')) {
        sent = true;
        kill('SIGINT');
      }
    },
  });
  assert.is(r.code, 130, r.stderr + r.stdout);
  assert.match(r.stdout, /cancelled after/);
  assert.is(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).status, 'cancelled');
});

test('a killed run (SIGKILL) still leaves the graph and the events so far', async () => {
  const out = join(tmp, 'killed');
  let sent = false;
  const r = await tessera(['run', 'graphs/demo.json', '--set', 'count.intervalMs=300', '--out', out], {
    onStdout: (chunk, kill) => {
      if (!sent && chunk.includes('count: 2/20')) {
        sent = true;
        kill('SIGKILL');
      }
    },
  });
  assert.is(r.code, null, 'killed by a signal');
  assert.ok(existsSync(join(out, 'graph.json')));
  const lines = readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.is(lines[0].type, 'run:start');
  assert.ok(lines.some((e: { type: string; nodeId?: string }) => e.type === 'node:progress' && e.nodeId === 'count'));
  // run.json was written at the start and never finished: "running" with no terminal event = killed.
  assert.is(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')).status, 'running', 'a run that never ended');
  assert.not.ok(lines.some((e: { type: string }) => /^run:(done|failed|cancelled)$/.test(e.type)), 'no terminal event');
});

test.run();
