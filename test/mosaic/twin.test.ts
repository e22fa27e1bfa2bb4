// tessera's MOSAIC `small` training step against its PyTorch twin (bench/mosaic/twin_step.py):
// the loss terms and gradient norm of 3 steps, every parameter's gradient (norm and sampled
// entries) and the parameters after 3 AdamW steps, from the same weights, batch and noise. No
// Python here: the PyTorch numbers are the committed test/mosaic/fixtures/twin-reference.json,
// written by `bash bench/mosaic/twin.sh --check-only --write-reference <that file>`.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from 'tessera/kernels';
import { TWIN_OPTIMIZER, runTessera, twinCase, type TesseraResult, type TwinCase } from '../../bench/mosaic/twinCase.ts';
import { compareSteps, compareSummary, failures, type TwinReference } from '../../bench/mosaic/twinCompare.ts';

const ref = JSON.parse(readFileSync(new URL('fixtures/twin-reference.json', import.meta.url), 'utf8')) as TwinReference;
let run: { c: TwinCase; r: TesseraResult } | null = null;

const findings = (c: TwinCase, r: TesseraResult) => [...compareSteps(r.steps, ref.steps), ...compareSummary(r.grads, r.params, c.params, ref.tensors, c.config.width, TWIN_OPTIMIZER.lr)];

test(`MOSAIC small step (K = ${ref.case.k}, batch ${ref.case.batch}, ${ref.case.weights} weights): loss terms, gradients and AdamW updates match PyTorch within float32 tolerance`, async () => {
  const w = ref.case.weights;
  if (w !== 'bundled' && w !== 'init') throw new TypeError(`twin-reference.json: weights must be 'bundled' or 'init', got ${String(w)}`);
  const c = await twinCase({ preset: ref.case.preset, k: ref.case.k, batch: ref.case.batch, seed: ref.case.seed, weights: w });
  const r = await runTessera(c, ref.case.steps);
  run = { c, r };
  assert.is(Object.keys(ref.tensors).length, Object.keys(c.params).length, 'the reference covers every parameter');
  assert.equal(failures(findings(c, r)).map((f) => `${f.what}: ${f.value} > ${f.limit}`), []);
});

test('the comparison catches a 1 % error in one gradient and a wrong loss term', () => {
  if (!run) throw new Error('the first test did not run');
  const { c, r } = run;
  const g = r.grads['block0.attn.wqkv']!;
  const grads = { ...r.grads, 'block0.attn.wqkv': new Tensor('float32', g.shape, Float32Array.from(g.data as Float32Array, (v) => v * 1.01)) };
  assert.ok(failures(findings(c, { ...r, grads })).some((f) => f.what.startsWith('block0.attn.wqkv gradient')));
  const steps = r.steps.map((s, i) => (i === 1 ? { ...s, scal: s.scal! * 1.001 } : s));
  assert.ok(failures(findings(c, { ...r, steps })).some((f) => f.what.startsWith('step 1 scal')));
});

test.run();
