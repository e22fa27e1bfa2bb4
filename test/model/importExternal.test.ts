// model/ImportOnnx with weights in an external-data side file: rewriting the side file (same
// .onnx) changes the node's cache fingerprint and the model digest, so a cached MODEL is not
// reused and a LoRA checkpoint trained on the old frozen weights is not resumed onto the new ones.
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, cli } from './cli.ts';
import { decodeModel, encodeModel, loadOnnxFile, type OnnxTensor } from '../../kernels/index.ts';
import { ProtoReader } from '../../kernels/onnx/ProtoReader.ts';
import { ProtoWriter } from '../../kernels/onnx/ProtoWriter.ts';
import { ImportOnnx } from '../../plugins/model/nodes/ImportOnnx.ts';

/**
 * test/fixtures/onnx/tiny_dit_op17.onnx rewritten the way exporters write large models: every
 * float32 initializer of 64+ values moved to `<dir>/tiny.weights` (offsets into one file).
 */
function writeExternalExport(dir: string): void {
  const model = decodeModel(readFileSync(join(ROOT, 'test/fixtures/onnx/tiny_dit_op17.onnx')));
  const moved: OnnxTensor[] = model.graph.initializers.filter((t) => t.dtype === 'float32' && t.data.length >= 64);
  model.graph.initializers = model.graph.initializers.filter((t) => !moved.includes(t));
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const graphTail = new ProtoWriter();
  for (const t of moved) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const entry = (k: string, v: string) => (w: ProtoWriter) => w.string(1, k).string(2, v);
    // TensorProto: dims 1, data_type 2 (1 = float), name 8, external_data 13, data_location 14 (1 = EXTERNAL).
    graphTail.message(5, (w) => {
      for (const d of t.dims) w.int(1, d);
      w.int(2, 1).string(8, t.name);
      w.message(13, entry('location', 'tiny.weights')).message(13, entry('offset', String(offset))).message(13, entry('length', String(bytes.length)));
      w.int(14, 1);
    });
    chunks.push(bytes);
    offset += bytes.length;
  }
  // Append the external initializers to the encoded graph (field 7 of ModelProto).
  const out = new ProtoWriter();
  for (const f of new ProtoReader(encodeModel(model)).fields()) {
    if (f.wire === 0) out.int(f.field, f.int!);
    else if (f.field === 7) out.bytes(7, new Uint8Array([...f.bytes!, ...graphTail.finish()]));
    else out.bytes(f.field, f.bytes!);
  }
  writeFileSync(join(dir, 'tiny.onnx'), out.finish());
  writeFileSync(join(dir, 'tiny.weights'), Buffer.concat(chunks));
}

/** Same size, other bytes, a later mtime: what re-exporting into the same folder does. */
function rewriteSideFile(dir: string): void {
  const path = join(dir, 'tiny.weights');
  const bytes = readFileSync(path);
  const f = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  f[0] = f[0]! + 0.5;
  writeFileSync(path, bytes);
  const later = new Date(Date.now() + 5000);
  utimesSync(path, later, later);
}

test('the rewritten fixture really keeps its weights in the side file, and loads like the original', async () => {
  const dir = mkdtempSync(join(ROOT, '.tmp-import-external-'));
  try {
    writeExternalExport(dir);
    const raw = decodeModel(readFileSync(join(dir, 'tiny.onnx')));
    assert.ok(raw.graph.initializers.filter((t) => t.external).length >= 4);
    const ext = await loadOnnxFile(join(dir, 'tiny.onnx'));
    const orig = await loadOnnxFile(join(ROOT, 'test/fixtures/onnx/tiny_dit_op17.onnx'));
    for (const t of orig.graph.initializers) assert.equal(Array.from(ext.graph.initializers.find((u) => u.name === t.name)!.data as ArrayLike<number>, Number), Array.from(t.data as ArrayLike<number>, Number), t.name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the cache fingerprint changes when only the side file changes', async () => {
  const dir = mkdtempSync(join(ROOT, '.tmp-import-external-'));
  try {
    writeExternalExport(dir);
    const cache = ImportOnnx.cache as { fingerprint(p: Record<string, unknown>, paths: { resolvePath(p: string): Promise<string> }): Promise<string> };
    const fp = () => cache.fingerprint({ file: 'tiny.onnx' }, { resolvePath: async (p) => join(dir, p) });
    const before = await fp();
    assert.is(await fp(), before, 'stable while nothing changes');
    rewriteSideFile(dir);
    assert.is.not(await fp(), before);
    rmSync(join(dir, 'tiny.weights'));
    assert.match(await fp(), /tiny\.weights=missing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a LoRA checkpoint is not resumed after the side file changed (the digest covers the external weights)', async () => {
  const dir = mkdtempSync(join(ROOT, '.tmp-import-external-'));
  try {
    writeExternalExport(dir);
    const rel = relative(ROOT, dir);
    const graph = JSON.parse(readFileSync(join(ROOT, 'graphs/import-finetune.json'), 'utf8')) as { nodes: Record<string, { params: Record<string, unknown> }> };
    graph.nodes.import!.params.file = `${rel}/tiny.onnx`;
    graph.nodes.data!.params.train = 4;
    Object.assign(graph.nodes.train!.params, { steps: 2, batchSize: 2, checkpointEvery: 1, checkpointDir: `${rel}/ckpt`, resume: true });
    writeFileSync(join(dir, 'g.json'), JSON.stringify(graph));
    const first = await cli(join(dir, 'g.json'), join(dir, 'out1'));
    assert.is(first.code, 0, first.text);
    // Control: nothing changed, so the finished run resumes from its last checkpoint.
    const again = await cli(join(dir, 'g.json'), join(dir, 'out2'));
    assert.is(again.code, 0, again.text);
    assert.match(again.text, /resumed from .*step-00000002/);
    rewriteSideFile(dir);
    const second = await cli(join(dir, 'g.json'), join(dir, 'out3'));
    assert.is.not(second.code, 0, second.text);
    assert.match(second.text, /cannot resume from [\s\S]*the ONNX export differs: its \.onnx file or the weights in its external-data side files/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
