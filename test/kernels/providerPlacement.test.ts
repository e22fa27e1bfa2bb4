// Placement report (bench/gpu/placementTable.ts) on a real onnxruntime profile: the op types,
// providers, node counts and shares come from what ORT actually ran.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph, KernelSession, Tensor } from '../../kernels/index.ts';
import { formatPlacement, placementTable } from '../../bench/gpu/placementTable.ts';

test('a profiled cpu session: one row per op type, all on CPUExecutionProvider, shares sum to 1', async () => {
  const g = new Graph();
  const x = g.input('x', [64, 64]);
  const model = g.toModel({ y: x.matmul(x).neg() });
  const dir = mkdtempSync(join(tmpdir(), 'tessera-placement-test-'));
  try {
    const s = await KernelSession.create(model, { provider: 'cpu', profileFilePrefix: join(dir, 'p') });
    const feed = Tensor.from(Array.from({ length: 64 * 64 }, (_, i) => (i % 7) / 7), [64, 64]);
    for (let i = 0; i < 3; i++) await s.run({ x: feed });
    s.session.endProfiling();
    await s.release();
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    assert.is(files.length, 1);
    const rows = placementTable(JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')));
    assert.equal(rows.map((r) => r.op).sort(), ['MatMul', 'Neg']);
    assert.ok(rows.every((r) => r.provider === 'CPUExecutionProvider' && r.nodes === 1 && r.totalUs > 0), JSON.stringify(rows));
    assert.ok(Math.abs(rows.reduce((a, r) => a + r.share, 0) - 1) < 1e-9);
    assert.match(formatPlacement(rows, 3), /MatMul\s+CPUExecutionProvider\s+1 /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('profile input is checked: not an array is an error, malformed events are skipped', () => {
  assert.throws(() => placementTable({ events: [] }), /not a JSON array/);
  const rows = placementTable([
    null,
    { cat: 'Session', name: 'model_run', dur: 50 },
    { cat: 'Node', name: 'a_kernel_time', dur: 'x', args: { op_name: 'Add' } },
    { cat: 'Node', name: 'a_kernel_time', dur: 30, args: { op_name: 'Add', provider: 'WebGpuExecutionProvider' } },
    { cat: 'Node', name: 'a_kernel_time', dur: 10, args: { op_name: 'Add', provider: 'WebGpuExecutionProvider' } },
    { cat: 'Node', name: 'b_kernel_time', dur: 40, args: { op_name: 'Add', provider: 'CPUExecutionProvider' } },
    { cat: 'Node', name: 'c_kernel_time', dur: 20, args: { op_name: '__proto__' } },
  ]);
  assert.equal(rows, [
    { op: 'Add', provider: 'WebGpuExecutionProvider', nodes: 1, totalUs: 40, share: 0.4 },
    { op: 'Add', provider: 'CPUExecutionProvider', nodes: 1, totalUs: 40, share: 0.4 },
    { op: '__proto__', provider: '?', nodes: 1, totalUs: 20, share: 0.2 },
  ]);
});

test.run();
