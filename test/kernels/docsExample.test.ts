// The usage example from docs/kernels.md, run as written (through the public 'tessera/kernels' barrel).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tensor, Trainer, adamw, init, ops } from 'tessera/kernels';

test('docs example: define a model and a loss, train three steps, save', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kern-docs-'));
  try {
    const xs = new Tensor('float32', [64, 2], Float32Array.from({ length: 128 }, (_, i) => Math.sin(i)));
    const ys = new Tensor('float32', [64, 1], Float32Array.from({ length: 64 }, (_, i) => Math.cos(i)));
    const log: string[] = [];
    // --- example start
    const trainer = await Trainer.create(
      (g) => {
        const x = g.input('x', [64, 2]);
        const y = g.input('y', [64, 1]);
        const w1 = g.param('w1', [2, 32], { init: init.xavier() });
        const b1 = g.param('b1', [32], { init: init.zeros(), decay: false });
        const w2 = g.param('w2', [32, 1], { init: init.xavier() });
        const pred = ops.linear(ops.linear(x, w1, b1).gelu(), w2);
        return { loss: pred.sub(y).square().mean(), outputs: { pred } };
      },
      { optimizer: adamw({ lr: 1e-2 }), seed: 42 },
    );
    for (let i = 0; i < 3; i++) {
      const { loss, finite } = await trainer.step({ x: xs, y: ys });
      log.push(`step ${i}: loss ${loss.toFixed(4)}${finite ? '' : ' (skipped: NaN/Inf)'}`);
    }
    await trainer.save(join(dir, 'mlp.safetensors'));
    // --- example end
    assert.is(log.length, 3);
    assert.ok((await stat(join(dir, 'mlp.safetensors'))).size > 0);
    assert.is(trainer.stepCount, 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
