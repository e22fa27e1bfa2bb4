// The UNet/VAE-style fixture (test/fixtures/onnx/tiny_unet_op17.onnx, bench/importer/export_fixtures.py
// unet: conv, GroupNorm → InstanceNormalization, a stride-2 conv, attention over 8×8 pixels,
// nearest Resize, a reference-image condition): it imports and matches PyTorch's gradients, and
// graphs/import-unet-finetune.json fine-tunes it headless through the real CLI with LoRA on the
// attention projections and the up-path convs plus SCAL on the attention's q/k.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, cli } from './cli.ts';
import { loadOnnxFile, loadSafetensors } from '../../kernels/index.ts';
import { checkAgainstTorch } from '../kernels/importReference.ts';

test('tiny_unet_op17: forward, loss and every parameter gradient match PyTorch', async () => {
  const onnx = await loadOnnxFile(join(ROOT, 'test/fixtures/onnx/tiny_unet_op17.onnx'));
  const ops = new Set(onnx.graph.nodes.map((n) => n.opType));
  for (const op of ['Conv', 'InstanceNormalization', 'Resize', 'Softmax', 'MatMul']) assert.ok(ops.has(op), `the export has ${op}`);
  await checkAgainstTorch(onnx, 'tiny_unet_op17');
});

test('graphs/import-unet-finetune.json runs headless: the reference condition, LoRA on attention and convs, SCAL falls', async () => {
  const out = mkdtempSync(join(tmpdir(), 'tessera-import-unet-'));
  try {
    const r = await cli('graphs/import-unet-finetune.json', out);
    assert.is(r.code, 0, r.text);
    assert.match(r.text, /condition: 1 reference image, 1 attention site, LoRA rank 4 .* \+ SCAL α=0\.4/);
    const history = JSON.parse(readFileSync(join(out, 'model', 'history.json'), 'utf8')) as { loss: number; flow: number; scal: number }[];
    assert.is(history.length, 40);
    assert.ok(history.every((h) => [h.loss, h.flow, h.scal].every(Number.isFinite)), JSON.stringify(history[0]));
    // SCAL starts near log 64 (uniform attention over the 8×8 target) and the adapters lower it.
    const mean = (hs: typeof history) => hs.reduce((s, h) => s + h.scal, 0) / hs.length;
    const first = mean(history.slice(0, 5));
    const last = mean(history.slice(-5));
    assert.ok(Math.abs(first - Math.log(64)) < 0.5, `first SCAL ${first}`);
    assert.ok(last < first - 0.3, `SCAL ${first} → ${last}`);
    const file = await loadSafetensors(join(out, 'model', 'lora.safetensors'));
    const tensors = new Map(Object.entries(file.tensors).map(([k, v]) => [k.replace(/^param\./, ''), v]));
    for (const name of ['lora.mid_attn.to_q.B', 'lora.mid_attn.to_k.B', 'lora.up_conv.B', 'lora.merge.B']) {
      assert.ok(Array.from(tensors.get(name)!.data as Float32Array).some((v) => v !== 0), `${name} moved off zero`);
    }
    const onnx = await loadOnnxFile(join(ROOT, 'test/fixtures/onnx/tiny_unet_op17.onnx'));
    const w = onnx.graph.initializers.find((t) => t.name === 'mid_attn.to_q.weight')!;
    assert.equal(Array.from(tensors.get('mid_attn.to_q.weight')!.data as Float32Array), Array.from(w.data as Float32Array), 'frozen weights unchanged');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
