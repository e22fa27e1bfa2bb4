// The `provider` setting (issue 20): `tessera run --provider` reaches the kernels' sessions; an
// unavailable provider (webgpu without an adapter, as on this CPU machine) falls back to cpu with
// one line and one node:log event, and the run's results equal the cpu run's. Real CLI, real ORT.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph, KernelSession, Tensor } from '../../kernels/index.ts';
import { PROVIDER_ENV, defaultProviderSetting, wantedProvider } from '../../kernels/runtime/provider.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const exec = promisify(execFile);

async function tessera(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, ['bin/tessera.mjs', ...args], { cwd: ROOT, timeout: 120_000, env: { ...process.env, NO_COLOR: '1', [PROVIDER_ENV]: '' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

function negModel() {
  const g = new Graph();
  const x = g.input('x', [3]);
  return g.toModel({ y: x.neg() });
}

const FALLBACK = /kernels: execution provider 'webgpu' unavailable \(.*\); running on cpu/g;

test('--provider webgpu on a small training graph: one fallback line here, losses equal the cpu run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-provider-'));
  try {
    const base = ['run', 'graphs/import-finetune.json', '--set', 'train.steps=3'];
    const cpu = await tessera([...base, '--provider', 'cpu', '--out', join(dir, 'cpu')]);
    assert.is(cpu.code, 0, cpu.stderr);
    assert.not.match(cpu.stderr, /execution provider/);
    const gpu = await tessera([...base, '--provider', 'webgpu', '--out', join(dir, 'webgpu')]);
    assert.is(gpu.code, 0, gpu.stderr);
    assert.is(JSON.parse(readFileSync(join(dir, 'webgpu', 'run.json'), 'utf8')).provider, 'webgpu'); // the record says what was asked
    // train/Train's summary output names the provider its step session ran on.
    const provider = readFileSync(join(dir, 'webgpu', 'events.jsonl'), 'utf8').match(/"provider":"(\w+)"/)?.[1];
    const history = (d: string) => (JSON.parse(readFileSync(join(dir, d, 'model', 'history.json'), 'utf8')) as { loss: number }[]).map((h) => h.loss);
    if (provider === 'webgpu') {
      // A machine with a WebGPU adapter: no fallback, losses agree within float32 tolerance.
      assert.is((gpu.stderr.match(FALLBACK) ?? []).length, 0, gpu.stderr);
      history('webgpu').forEach((l, i) => assert.ok(Math.abs(l - history('cpu')[i]!) <= 1e-3 * Math.abs(history('cpu')[i]!), `step ${i + 1}`));
    } else {
      assert.is(provider, 'cpu');
      assert.is((gpu.stderr.match(FALLBACK) ?? []).length, 1, gpu.stderr);
      // The same fact is an event of the run (what the editor and the server's clients see).
      const logs = readFileSync(join(dir, 'webgpu', 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'node:log' && e.level === 'warn');
      assert.is(logs.length, 1);
      assert.equal([logs[0].nodeId, logs[0].fields.provider, logs[0].fields.fallback], ['train', 'webgpu', 'cpu']);
      assert.equal(history('webgpu'), history('cpu'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an invalid --provider is a usage error (exit 2) listing the values', async () => {
  const r = await tessera(['run', 'graphs/import-finetune.json', '--provider', 'cuda']);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /--provider.*must be one of cpu, webgpu, auto/);
});

test('process setting: unset means cpu, auto tries webgpu, an invalid value is an error', () => {
  assert.is(defaultProviderSetting({}), 'cpu');
  assert.is(defaultProviderSetting({ [PROVIDER_ENV]: '' }), 'cpu');
  assert.is(defaultProviderSetting({ [PROVIDER_ENV]: 'auto' }), 'auto');
  assert.throws(() => defaultProviderSetting({ [PROVIDER_ENV]: 'gpu' }), /'gpu' is not one of cpu, webgpu, auto/);
  assert.is(wantedProvider('cpu'), 'cpu'); // an explicit session option wins over the setting
});

test('sessions without an explicit provider follow the setting; availability is checked once per process', async () => {
  const previous = process.env[PROVIDER_ENV];
  process.env[PROVIDER_ENV] = 'webgpu';
  try {
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    const a = await KernelSession.create(negModel(), { log });
    const b = await KernelSession.create(negModel(), { log, threads: 1 });
    if (a.provider === 'webgpu') return; // a machine with a WebGPU adapter
    assert.is(a.provider, 'cpu');
    assert.is(b.provider, 'cpu');
    assert.is(lines.length, 1, lines.join('\n'));
    assert.equal((await b.run({ x: Tensor.from([1, -2, 3]) })).y!.toArray(), [-1, 2, -3]);
  } finally {
    if (previous === undefined) delete process.env[PROVIDER_ENV];
    else process.env[PROVIDER_ENV] = previous;
  }
});

test.run();
