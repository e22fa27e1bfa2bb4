import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Graph, KernelSession, Tensor, grad } from 'tessera/kernels';
import { SeededRandom } from '../../kernels/trace/init.ts';
import { reconstructionLoss } from '../../plugins/latent/programs.ts';
import { weightedLossReference } from '../../plugins/latent/loss.ts';
import { tiny } from './helpers.ts';

/**
 * The whole tiny autoencoder's training loss in float64 (B = 2, 8×8 images, latent 2×2: stride-2
 * convolutions with a remainder and transposed convolutions on the path), with a subject mask.
 */
async function lossSession() {
  const g = new Graph({ dtype: 'float64' });
  const r = reconstructionLoss(g, tiny, 2, 8, 8);
  const params = [...g.params.values()];
  const grads = grad(r.loss, params.map((p) => p.sym));
  const outs: Record<string, (typeof grads)[number]> = { loss: r.loss, y: r.y, subjectMse: r.subjectMse };
  params.forEach((p, i) => (outs[`d.${p.name}`] = grads[i]!));
  const session = await KernelSession.create(g.toModel(outs));
  const rng = new SeededRandom(11);
  const values = new Map<string, Float64Array>();
  for (const p of params) values.set(p.name, Float64Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => 0.15 * rng.normal()));
  const x = Float64Array.from({ length: 2 * 3 * 64 }, () => 2 * rng.next() - 1);
  const mask = Float64Array.from({ length: 2 * 64 }, () => (rng.next() < 0.3 ? 1 : 0));
  const w = mask.map((v) => (v ? 1 : 0.2));
  const feeds = () => {
    const f: Record<string, Tensor> = { x: new Tensor('float64', [2, 3, 8, 8], x), w: new Tensor('float64', [2, 1, 8, 8], w), m: new Tensor('float64', [2, 1, 8, 8], mask) };
    for (const p of params) f[p.name] = new Tensor('float64', p.shape, values.get(p.name)!.slice());
    return f;
  };
  return { session, params, values, x, w, mask, feeds };
}

test('subject-weighted loss: the traced program equals a float64 TypeScript reference', async () => {
  const { session, feeds, x, w, mask } = await lossSession();
  const out = await session.run(feeds());
  const y = out.y!.data as Float64Array;
  const ref = weightedLossReference(y, x, w, [2, 3, 8, 8]);
  assert.ok(Math.abs(out.loss!.item() - ref) <= 1e-12 * Math.abs(ref), `${out.loss!.item()} vs ${ref}`);
  // Subject-pixel error: the same reference with the 0/1 mask as weights.
  const subj = weightedLossReference(y, x, mask, [2, 3, 8, 8]);
  assert.ok(Math.abs(out.subjectMse!.item() - subj) <= 1e-12 * subj);
  // The weights matter: the plain mean differs.
  assert.ok(Math.abs(weightedLossReference(y, x, w.map(() => 1), [2, 3, 8, 8]) - ref) > 1e-3 * ref);
});

test('subject-weighted loss: gradients of every parameter tensor match central finite differences (float64)', async () => {
  const { session, params, values, feeds } = await lossSession();
  const analytic = await session.run(feeds());
  const rng = new SeededRandom(5);
  const h = 1e-6;
  let worst = 0;
  let checked = 0;
  for (const p of params) {
    const v = values.get(p.name)!;
    const d = analytic[`d.${p.name}`]!.data as Float64Array;
    for (let s = 0; s < 3; s++) {
      const i = Math.floor(rng.next() * v.length);
      const orig = v[i]!;
      v[i] = orig + h;
      const lp = (await session.run(feeds(), ['loss'])).loss!.item();
      v[i] = orig - h;
      const lm = (await session.run(feeds(), ['loss'])).loss!.item();
      v[i] = orig;
      const fd = (lp - lm) / (2 * h);
      const err = Math.abs(fd - d[i]!) / Math.max(1e-4, Math.abs(fd), Math.abs(d[i]!));
      worst = Math.max(worst, err);
      checked++;
      assert.ok(err < 1e-5, `${p.name}[${i}]: autodiff ${d[i]}, finite differences ${fd}`);
    }
  }
  assert.ok(checked >= 3 * 20, `${checked} entries checked`);
  assert.ok(worst < 1e-5);
});

test.run();
