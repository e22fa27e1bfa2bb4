// docs/import.md's supported-op list cannot drift from the importer: it must equal the ops the
// importer replays (its switch), and each must appear in a PyTorch fixture or an importer test.
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeModel } from '../../kernels/index.ts';

const ROOT = new URL('../../', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, ROOT), 'utf8');

function documented(): string[] {
  const m = /<!-- ops:start -->\n([^<]*)\n<!-- ops:end -->/.exec(read('docs/import.md'));
  assert.ok(m, 'docs/import.md has an ops:start/ops:end block');
  return m[1]!.trim().split(/\s+/).sort();
}

test('the documented op list is exactly the importer’s', () => {
  const src = read('kernels/trace/importOnnx.ts');
  const replayed = [...new Set([...src.matchAll(/^\s*case '([A-Za-z]+)':/gm)].map((x) => x[1]!))].sort();
  assert.ok(replayed.length > 40, `found ${replayed.length} cases`);
  assert.equal(documented(), replayed);
});

test('every documented op is covered by a PyTorch fixture or an importer test', () => {
  const seen = new Set<string>();
  const dir = new URL('test/fixtures/onnx/', ROOT);
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.onnx')) continue;
    const m = decodeModel(readFileSync(new URL(f, dir)));
    for (const n of m.graph.nodes) seen.add(n.opType);
  }
  const tests = ['importOps', 'import', 'hostFold', 'importElementwise'].map((f) => read(`test/kernels/${f}.test.ts`)).join('\n');
  // Upsample (opset < 10, which onnxruntime no longer runs) is Resize's code path with other defaults.
  const samePath = new Map([['Upsample', 'Resize']]);
  const covered = (op: string) => seen.has(op) || new RegExp(`['"]${op}['"]`).test(tests);
  const missing = documented().filter((op) => !covered(op) && !(samePath.has(op) && covered(samePath.get(op)!)));
  assert.equal(missing, [], `ops with no fixture or test: ${missing.join(', ')}`);
});

test.run();
