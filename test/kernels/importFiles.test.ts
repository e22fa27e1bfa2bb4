// Model files as exporters write them beyond plain .onnx: weights in an external-data side file
// (resolved only inside the model's folder), float16 initializers, and constant-folded exports
// whose Linear weights were renamed and transposed (found again through the name map). Fixtures
// from bench/importer/export_fixtures.py (torch 1.13); gradients compared with PyTorch's.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph, decodeModel, importOnnx, importOnnxModel, loadOnnxFile, resolveExternalData } from '../../kernels/index.ts';
import { checkOpenedInside } from '../../kernels/onnx/externalData.ts';
import { modulePath } from '../../kernels/trace/importNames.ts';
import { FIXTURES, checkAgainstTorch } from './importReference.ts';
import { rejects, throwsWith } from './util.ts';

const fixture = (name: string) => new URL(name, FIXTURES).pathname;

test('external data: the side file is read and the model matches its inline twin and PyTorch gradients', async () => {
  const ext = await loadOnnxFile(fixture('dit_block_op17_ext.onnx'));
  const inline = await loadOnnxFile(fixture('dit_block_op17.onnx'));
  assert.ok(readFileSync(fixture('dit_block_op17_ext.onnx')).byteLength < readFileSync(fixture('dit_block_op17.onnx')).byteLength / 2, 'the weights really are outside the .onnx');
  assert.is(ext.graph.initializers.length, inline.graph.initializers.length);
  for (const t of ext.graph.initializers) {
    const twin = inline.graph.initializers.find((u) => u.name === t.name)!;
    assert.is(t.external, undefined);
    assert.equal(Array.from(t.data as Float32Array), Array.from(twin.data as Float32Array), t.name);
  }
  await checkAgainstTorch(ext, 'dit_block_op17');
});

test('external data: decodeModel alone leaves it unread, and importing such a model is a clear error', () => {
  const m = decodeModel(readFileSync(fixture('dit_block_op17_ext.onnx')));
  const t = m.graph.initializers.find((x) => x.external)!;
  assert.is(t.external!.location, 'dit_block_op17_ext.weights');
  const g = new Graph();
  throwsWith(() => importOnnx(g, m, { x: g.input('x', [2, 5, 16]), t: g.input('t', [2]) }), /stored in external file 'dit_block_op17_ext\.weights', which was not read: load the model with loadOnnxFile/);
});

test('external data: locations outside the model folder are refused (.., absolute, symlink out), and short files too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ext-'));
  try {
    mkdirSync(join(dir, 'model'));
    copyFileSync(fixture('dit_block_op17_ext.weights'), join(dir, 'secret.bin'));
    const load = () => decodeModel(readFileSync(fixture('dit_block_op17_ext.onnx')));
    const withLocation = (location: string) => {
      const m = load();
      for (const t of m.graph.initializers) if (t.external) t.external.location = location;
      return m;
    };
    await rejects(() => resolveExternalData(withLocation('../secret.bin'), join(dir, 'model')), /names external data '\.\.\/secret\.bin', which is outside the model's folder/);
    await rejects(() => resolveExternalData(withLocation(join(dir, 'secret.bin')), join(dir, 'model')), /not a path relative to the model's folder/);
    await rejects(() => resolveExternalData(withLocation('sub/../../secret.bin'), join(dir, 'model')), /outside the model's folder/);
    symlinkSync(join(dir, 'secret.bin'), join(dir, 'model', 'link.bin'));
    await rejects(() => resolveExternalData(withLocation('link.bin'), join(dir, 'model')), /a link to .*secret\.bin, outside the model's folder/);
    await rejects(() => resolveExternalData(withLocation('missing.bin'), join(dir, 'model')), /'missing\.bin', which cannot be read/);
    writeFileSync(join(dir, 'model', 'short.bin'), new Uint8Array(100));
    await rejects(() => resolveExternalData(withLocation('short.bin'), join(dir, 'model')), /reads bytes \d+\.\.\d+ of 'short\.bin', which has 100|has \d+ bytes in 'short\.bin'/);
    // The real layout, copied next to the model into the folder, loads.
    copyFileSync(fixture('dit_block_op17_ext.weights'), join(dir, 'model', 'dit_block_op17_ext.weights'));
    copyFileSync(fixture('dit_block_op17_ext.onnx'), join(dir, 'model', 'm.onnx'));
    const ok = await loadOnnxFile(join(dir, 'model', 'm.onnx'));
    assert.ok(ok.graph.initializers.every((t) => !t.external && t.data.length > 0));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('external data: a name starting with two dots inside the folder loads; a link swapped after the open is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ext-'));
  try {
    const model = join(dir, 'model');
    mkdirSync(model);
    copyFileSync(fixture('dit_block_op17_ext.weights'), join(model, '..weights'));
    const m = decodeModel(readFileSync(fixture('dit_block_op17_ext.onnx')));
    for (const t of m.graph.initializers) if (t.external) t.external.location = '..weights';
    await resolveExternalData(m, model);
    assert.ok(m.graph.initializers.every((t) => !t.external && t.data.length > 0));
    // The race: the link points outside when opened and inside when checked. The descriptor's
    // file is not the one the link names now, so it is refused.
    copyFileSync(fixture('dit_block_op17_ext.weights'), join(dir, 'secret.bin'));
    symlinkSync(join(dir, 'secret.bin'), join(model, 'swap.bin'));
    const fh = await open(join(model, 'swap.bin'), 'r');
    try {
      rmSync(join(model, 'swap.bin'));
      symlinkSync(join(model, '..weights'), join(model, 'swap.bin'));
      await rejects(() => checkOpenedInside(fh, join(model, 'swap.bin'), model, 'w'), /w, which changed while it was opened/);
    } finally {
      await fh.close();
    }
    // Opened through the same (inside) link it is checked against: accepted.
    const same = await open(join(model, 'swap.bin'), 'r');
    try {
      await checkOpenedInside(same, join(model, 'swap.bin'), model, 'w');
    } finally {
      await same.close();
    }
    // Not a regular file: refused (opened without blocking, so a FIFO could not hang the load either).
    mkdirSync(join(model, 'sub.bin'));
    for (const t of m.graph.initializers) t.external = { location: 'sub.bin', offset: 0, length: null };
    await rejects(() => resolveExternalData(m, model), /names external data 'sub\.bin', which (is not a regular file|cannot be read)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('float16 initializers are widened to float32 on load and match PyTorch (weights stored in half)', async () => {
  const m = await loadOnnxFile(fixture('half_weights_op17.onnx'));
  assert.ok(m.graph.initializers.some((t) => t.dtype === 'float16'), 'the fixture stores float16 weights');
  // PyTorch's grads of half params are rounded to half: ~5e-4 relative.
  await checkAgainstTorch(m, 'half_weights_op17', 2e-3);
  const g = new Graph();
  const { names } = importOnnxModel(g, m, { x: g.input('x', [2, 3, 8]) }, { params: 'trainable' });
  for (const list of names.values()) for (const p of list) assert.is(g.params.get(p.param)!.sym.dtype, 'float32');
});

test('constant folding renames and transposes Linear weights: the name map finds them, gradients match PyTorch', async () => {
  const m = await loadOnnxFile(fixture('dit_block_op17_folded.onnx'));
  const g = new Graph();
  const { names } = importOnnxModel(g, m, { x: g.input('x', [2, 5, 16]), t: g.input('t', [2]) }, { params: 'trainable', prefix: 'dit.' });
  const qkv = [...names.values()].flat().find((p) => p.torchName === 'qkv.weight')!;
  assert.match(qkv.initializer, /^onnx::MatMul_\d+$/);
  assert.equal({ param: qkv.param, module: qkv.module, transposed: qkv.transposed, consumers: qkv.consumers }, { param: `dit.${qkv.initializer}`, module: 'qkv', transposed: true, consumers: ['/qkv/MatMul'] });
  assert.equal(names.get('mlp.0.bias')![0]!.module, 'mlp.0');
  assert.equal(names.get('t_mlp.2.weight')![0]!.transposed, false);
  // Scope names repeat the parent's path, its own name, or neither (torch 1.13 writes all three).
  assert.equal(['/blocks.0/mlp/mlp.0/MatMul', '/blocks.0/blocks.0.attn/blocks.0.attn.qkv/MatMul', '/blocks.0/attn/qkv/MatMul', '/MatMul', 'noscope'].map(modulePath), ['blocks.0.mlp.0', 'blocks.0.attn.qkv', 'blocks.0.attn.qkv', null, null]);
  // Every PyTorch parameter (qkv.weight, proj.weight, mlp.*.weight renamed) is found through the map.
  await checkAgainstTorch(m, 'dit_block_op17_folded');
});

test.run();
