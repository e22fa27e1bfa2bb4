// The bundled graph graphs/import-finetune.json through the real CLI: model/ImportOnnx loads the
// committed tiny DiT export, model/LoRA wraps its qkv and MLP layers, mosaic/SCALoss and
// mosaic/MDLoss add SCAL and MDL on both blocks' attention q/k, train/Train fine-tunes the adapters
// headless, and a second SCALoss draws the trained model's heatmaps. Also: a LoRA target that
// matches nothing fails the run with close names.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, cli } from './cli.ts';
import { loadOnnxFile, loadSafetensors } from '../../kernels/index.ts';
import { decodePng } from '../../core/image/index.ts';

test('graphs/import-finetune.json runs headless: LoRA adapters train with SCAL and MDL (K = 2 batches only), the export’s weights stay as exported, heatmaps of the trained model', async () => {
  const out = mkdtempSync(join(tmpdir(), 'tessera-import-finetune-'));
  try {
    const r = await cli('graphs/import-finetune.json', out);
    assert.is(r.code, 0, r.text);
    assert.match(r.text, /2 attention sites, LoRA rank 4 .* \+ SCAL α=0\.4 \(per reference\) \+ MDL β=0\.6 \(skl\)/);
    const history = JSON.parse(readFileSync(join(out, 'model', 'history.json'), 'utf8')) as { step: number; loss: number; flow: number; scal: number; mdl?: number }[];
    assert.is(history.length, 12);
    assert.ok(history.every((h) => Number.isFinite(h.loss) && h.loss > 0), JSON.stringify(history));
    // The total is flow + α·SCAL + β·MDL (paper preset α = 0.4, β = 0.6 from step 0), MDL only on
    // K = 2 batches (the data has K = 1 and 2); SCAL near log 16 (4×4 target tokens).
    const withMdl = history.filter((h) => h.mdl !== undefined);
    assert.ok(withMdl.length > 0 && withMdl.length < history.length, `MDL on ${withMdl.length} of ${history.length} steps`);
    assert.ok(withMdl.every((h) => h.mdl! < 0), 'MDL is a negative divergence');
    for (const h of history) assert.ok(Math.abs(h.loss - (h.flow + 0.4 * h.scal + 0.6 * (h.mdl ?? 0))) < 1e-4 * h.loss, JSON.stringify(h));
    assert.ok(Math.abs(history[0]!.scal - Math.log(16)) < 0.5, `SCAL ${history[0]!.scal}`);
    const file = await loadSafetensors(join(out, 'model', 'lora.safetensors'));
    const tensors = Object.fromEntries(Object.entries(file.tensors).map(([k, v]) => [k.replace(/^param\./, ''), v]));
    const names = Object.keys(tensors);
    assert.ok(names.includes('lora.blocks.0.qkv.B') && names.includes('lora.blocks.1.mlp.2.A'), names.join(', '));
    assert.ok(Array.from(tensors['lora.blocks.0.qkv.B']!.data as Float32Array).some((v) => v !== 0), 'LoRA B moved off zero');
    const onnx = await loadOnnxFile(join(ROOT, 'test/fixtures/onnx/tiny_dit_op17.onnx'));
    const w = onnx.graph.initializers.find((t) => t.name === 'blocks.0.qkv.weight')!;
    assert.equal(Array.from(tensors['blocks.0.qkv.weight']!.data as Float32Array), Array.from(w.data as Float32Array), 'frozen weights unchanged');
    // The heatmaps of a two-reference sample, from the trained adapters.
    assert.match(r.text, /heatmaps imported model: .*weights from .*lora\.safetensors \(step 12\)/);
    const heatmaps = join(out, 'model', 'heatmaps.png');
    const png = decodePng(readFileSync(heatmaps), heatmaps, 3);
    assert.equal([png.width, png.height], [96 + 2 * 192 + 4 * 6, 2 * (192 + 6) + 6]);
    assert.ok(new Set(png.data).size > 50, 'heatmaps drawn');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('a LoRA target matching no layer fails the run, naming close layer names', async () => {
  const dir = mkdtempSync(join(ROOT, '.tmp-import-finetune-'));
  try {
    const graph = JSON.parse(readFileSync(join(ROOT, 'graphs/import-finetune.json'), 'utf8')) as { nodes: Record<string, { params: Record<string, unknown> }> };
    graph.nodes.lora!.params.targets = 'blocks.*.qvk';
    graph.nodes.train!.params.steps = 1;
    writeFileSync(join(dir, 'g.json'), JSON.stringify(graph));
    const r = await cli(join(dir, 'g.json'), join(dir, 'out'));
    assert.is.not(r.code, 0);
    assert.match(r.text, /lora target blocks\.\*\.qvk' matches no node output .*blocks\.\d\.qkv/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
