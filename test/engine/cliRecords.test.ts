import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Run records of `tessera run`: a reused --out, a killed run, a full disk, a read-only --out.

const root = new URL('../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'tessera-records-'));
chmodSync(tmp, 0o755); // the EACCES test runs the CLI as another user, who must reach its folder
const bin = join(root, 'bin/tessera.mjs');

type Result = { code: number | null; stdout: string; stderr: string };

/** Runs a command (the real CLI, or a wrapper around it); `onStdout` may kill it. */
function exec(cmd: string, args: string[], opts: { onStdout?: (chunk: string, kill: () => void) => void } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      opts.onStdout?.(String(d), () => child.kill('SIGKILL'));
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
const tessera = (args: string[], opts?: Parameters<typeof exec>[2]) => exec(process.execPath, [bin, ...args], opts);

const graphFile = (name: string, nodes: object) => {
  const file = join(tmp, `${name}.json`);
  writeFileSync(file, JSON.stringify({ format: 'tessera-graph', version: 1, nodes }));
  return file;
};
/** The demo graph without its waits (1 s instead of 3). */
const FAST = ['--set', 'slowA.ms=0', '--set', 'slowB.ms=0', '--set', 'count.intervalMs=0'];
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const eventsOf = (dir: string) => readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; runId: string });

/** A disk error is one line on stderr: no stack, no "Unhandled 'error' event". */
function oneClearLine(r: Result, re: RegExp): void {
  assert.is(r.code, 1, r.stderr);
  assert.not.match(r.stderr, /^\s+at /m, 'a stack trace');
  assert.not.match(r.stderr, /Unhandled/);
  const lines = r.stderr.trim().split('\n');
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0]!, re);
}

// A tmpfs mounted in a private mount namespace (root or user namespaces): a real full or
// read-only file system that vanishes with the process. Where that is not allowed, the tests
// that need it say so and pass on the /dev/full and /sys checks below.
const canMount = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs "$0"', tmp]).status === 0;

/**
 * Runs the CLI with `dir` mounted as a tmpfs with `options`, then reports what the folder holds
 * (name → text) from inside the namespace, since the mount is gone afterwards.
 */
async function inTmpfs(dir: string, options: string, args: string[]): Promise<Result & { files: Map<string, string> }> {
  mkdirSync(dir, { recursive: true });
  const script = 'mount -t tmpfs -o "$0" tmpfs "$1" || exit 99; d="$1"; shift 2; "$@" >/dev/null; rc=$?; node -e "$LIST" "$d"; exit $rc';
  const r = await exec('unshare', ['-m', 'sh', '-c', script, options, dir, process.execPath, bin, ...args]);
  assert.is.not(r.code, 99, 'mount failed');
  const at = r.stdout.lastIndexOf('\n@@');
  const files = new Map(Object.entries(JSON.parse(r.stdout.slice(at + 3)) as Record<string, string>));
  return { ...r, files };
}

// Lists a folder as JSON (name → text) after a "@@" marker; the shell in inTmpfs runs it.
process.env.LIST = `const fs=require('fs');const d=process.argv[1];const o={};for(const n of fs.readdirSync(d))o[n]=fs.readFileSync(d+'/'+n,'utf8');process.stdout.write('\\n@@'+JSON.stringify(o))`;

test('a reused --out is refused (exit 2) and the earlier record is left as it was', async () => {
  const out = join(tmp, 'reuse');
  assert.is((await tessera(['run', 'graphs/demo.json', ...FAST, '--out', out])).code, 0);
  const before = new Map(['run.json', 'graph.json', 'events.jsonl'].map((f) => [f, readFileSync(join(out, f), 'utf8')]));
  const r = await tessera(['run', 'graphs/demo.json', ...FAST, '--seed', '5', '--out', out]);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /already holds a run record \(run\.json says done\).*--force/);
  for (const [f, text] of before) assert.is(readFileSync(join(out, f), 'utf8'), text, `${f} changed`);
});

test('--force starts a clean record; killing that run leaves "running", not the old "done", and only its own events', async () => {
  const out = join(tmp, 'force');
  assert.is((await tessera(['run', 'graphs/demo.json', ...FAST, '--out', out])).code, 0);
  const oldRun = readJson(join(out, 'run.json')).runId as string;
  writeFileSync(join(out, 'notes.txt'), 'mine');
  let killed = false;
  const r = await tessera(['run', 'graphs/demo.json', '--force', '--set', 'count.intervalMs=200', '--out', out], {
    onStdout: (chunk, kill) => {
      if (!killed && chunk.includes('count: 2/20')) {
        killed = true;
        kill();
      }
    },
  });
  assert.is(r.code, null, 'killed by a signal');
  const run = readJson(join(out, 'run.json'));
  assert.is(run.status, 'running');
  assert.is(typeof run.pid, 'number');
  const events = eventsOf(join(out));
  assert.is(events[0]!.type, 'run:start');
  assert.ok(events.every((e) => e.runId === events[0]!.runId && e.runId !== oldRun), 'events of the earlier run are mixed in');
  assert.not.ok(events.some((e) => /^run:(done|failed|cancelled)$/.test(e.type)));
  assert.is(readFileSync(join(out, 'notes.txt'), 'utf8'), 'mine', '--force deletes only the record files');
  assert.is(readJson(join(out, 'graph.json')).nodes.count.params.intervalMs, 200, 'graph.json is the new run\'s');

  // And --force over an interrupted record finishes normally.
  const again = await tessera(['run', 'graphs/demo.json', ...FAST, '--force', '--out', out]);
  assert.is(again.code, 0, again.stderr);
  assert.is(readJson(join(out, 'run.json')).status, 'done');
});

test('events.jsonl on a full device (/dev/full): one clear line, exit 1, graph.json and run.json intact', async () => {
  const out = join(tmp, 'devfull');
  mkdirSync(out);
  symlinkSync('/dev/full', join(out, 'events.jsonl'));
  const r = await tessera(['run', 'graphs/demo.json', ...FAST, '--out', out]);
  oneClearLine(r, /^error: cannot write run record: no space left on device \(ENOSPC\) at .*devfull\/events\.jsonl$/);
  assert.is(readJson(join(out, 'graph.json')).format, 'tessera-graph');
  const run = readJson(join(out, 'run.json'));
  assert.is(run.status, 'failed');
  assert.match(run.error, /no space left on device \(ENOSPC\)/);
  assert.not.ok(existsSync(join(out, 'summary.json')), 'the run went on without a record');
});

test('an --out the process may not create (/sys): one clear line, exit 1', async () => {
  const r = await tessera(['run', 'graphs/demo.json', '--out', '/sys/tessera-cli-test/run']);
  oneClearLine(r, /^error: cannot write run record: .* \((EPERM|EACCES|EROFS)\) at \/sys\/tessera-cli-test$/);
});

test('a read-only --out (EROFS): one clear line, exit 1, nothing runs', async () => {
  if (!canMount) return console.log('  (skipped: no mount namespaces here)');
  const dir = join(tmp, 'ro');
  const r = await inTmpfs(dir, 'ro,size=64k', ['run', 'graphs/demo.json', '--out', join(dir, 'sub')]);
  oneClearLine(r, /^error: cannot write run record: read-only file system \(EROFS\) at .*\/ro\/sub$/);
  assert.is(r.files.size, 0);
});

test('an --out without write permission (EACCES): one clear line, exit 1', async () => {
  const dir = join(tmp, 'locked');
  mkdirSync(dir, { mode: 0o555 });
  chmodSync(dir, 0o555);
  const args = ['run', 'graphs/demo.json', '--out', join(dir, 'run')];
  // root writes through mode bits: run the CLI as "nobody" (its tsx cache goes to its own tmp dir).
  const asRoot = process.getuid?.() === 0;
  if (asRoot && spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']).status !== 0) return console.log('  (skipped: root without setpriv)');
  const r = asRoot ? await exec('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, bin, ...args]) : await tessera(args);
  oneClearLine(r, /^error: cannot write run record: permission denied \(EACCES\) at .*\/locked\/run$/);
});

test('a full disk (tmpfs): a node\'s write fails naming its file, no half file is left, events.jsonl keeps whole lines', async () => {
  if (!canMount) return console.log('  (skipped: no mount namespaces here)');
  // 1. An output too big for its disk: the node fails with one line; no output.json, no temp
  // file. The small disk is a folder of the run directory, so the record's own writes, on another
  // disk, cannot be the ones that hit it first.
  const big = graphFile('big', { list: { type: 'core/Range', params: { start: 0, stop: 100000 } }, save: { type: 'core/SaveJSON', params: { filename: 'small/output.json' }, inputs: { value: { node: 'list', output: 'list' } } } });
  const dir = join(tmp, 'full1');
  const r = await inTmpfs(join(dir, 'small'), 'size=64k', ['run', big, '--out', dir, '--json']);
  assert.is(r.code, 1, r.stderr);
  assert.not.match(r.stderr, /^\s+at /m);
  assert.equal([...r.files.keys()], [], 'a partial or temp file was left');
  const run = readJson(join(dir, 'run.json'));
  assert.is(run.status, 'failed');
  assert.match(run.errors[0].message, /^cannot write .*full1\/small\/output\.json: no space left on device \(ENOSPC\)$/);

  // 2. A stream of events that fills the disk: the run stops, one line, every logged line parses.
  const dir2 = join(tmp, 'full2');
  const r2 = await inTmpfs(dir2, 'size=256k', ['run', 'graphs/demo.json', '--out', dir2, '--set', 'count.count=100000', '--set', 'count.intervalMs=0']);
  oneClearLine(r2, /^error: cannot write run record: no space left on device \(ENOSPC\) at .*full2\/events\.jsonl$/);
  const lines = r2.files.get('events.jsonl')!.split('\n');
  assert.is(lines.pop(), '', 'the last line is complete');
  assert.ok(lines.length > 100);
  for (const l of lines) JSON.parse(l);
  assert.match(r2.files.get('run.json')!, /"status": "(running|failed)"/);
});

test.run();
