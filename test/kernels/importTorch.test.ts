// PyTorch exports (test/fixtures/onnx, made by bench/importer/export_fixtures.py with torch 1.13,
// dynamic batch/token axes, opsets 13 and 17): the imported graph's forward output, loss and
// every parameter gradient match what PyTorch autograd computed at export time. No Python here:
// the tests read only the committed .onnx and .json files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph, importOnnx, loadOnnxFile } from '../../kernels/index.ts';
import { FIXTURES as DIR, checkAgainstTorch } from './importReference.ts';

for (const name of ['dit_block_op13', 'dit_block_op17', 'dit_block_op13_f64', 'dit_block_op17_f64', 'mha_op13', 'mha_op17', 'einsum_attention_op13', 'einsum_attention_op17', 'groupnorm_resize_op13', 'groupnorm_resize_op17', 'tiny_dit_op17']) {
  test(`${name}: forward, loss and parameter gradients match PyTorch`, () => checkAgainstTorch(name, name));
}

test('a dynamic-axis export imports at another batch and token count (computed reshape targets refold)', async () => {
  const model = await loadOnnxFile(new URL('dit_block_op17.onnx', DIR).pathname);
  const g = new Graph();
  const t = importOnnx(g, model, { x: g.input('x', [3, 7, 16]), t: g.input('t', [3]) });
  assert.equal(t.y!.shape, [3, 7, 16]);
});

test.run();
