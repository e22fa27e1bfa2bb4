// The packed GPU probe's measurement code (bench/gpu/), on real onnxruntime sessions: rows say
// which provider actually ran (a webgpu request that falls back says cpu), the loss-agreement
// check passes for equal runs and fails for perturbed ones, and the files written are complete.
// Nothing here is timed: the figures are only checked for being present and finite.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LOSS_TOLERANCE, compareLosses, identicalLosses, lossCase } from '../../bench/gpu/lossAgreement.ts';
import { providerCheck } from '../../bench/gpu/probeMeasure.ts';
import { formatProbe, writeProbe } from '../../bench/gpu/probeReport.ts';
import { runProbe, type ProbeResult, type ProbeSizes } from '../../bench/gpu/probeRun.ts';

const TINY: ProbeSizes = { preset: 'tiny', ks: [2], mosaicBatch: 1, warmup: 1, steps: 2, lossSteps: 3, placementSteps: 1, sampleCount: 1, eulerSteps: 1, runCapMs: 60_000, deadlineMs: 60_000 };

test('provider check: cpu opens and matches itself; webgpu either opens or reports ORT’s error line', async () => {
  const pc = await providerCheck(['cpu', 'webgpu']);
  assert.ok(pc.backends.some((b) => b.name === 'cpu'), JSON.stringify(pc.backends));
  const [cpu, gpu] = pc.rows;
  assert.equal(cpu, { provider: 'cpu', ok: true, createMs: cpu!.createMs, maxAbsErrVsCpu: 0, error: null });
  assert.is(gpu!.provider, 'webgpu');
  if (gpu!.ok) assert.ok(gpu!.maxAbsErrVsCpu !== null && gpu!.maxAbsErrVsCpu < 1e-3 && gpu!.error === null);
  else assert.ok(gpu!.error && gpu!.error.length > 0 && !gpu!.error.includes('\n') && gpu!.maxAbsErrVsCpu === null, gpu!.error ?? '');
});

test('loss agreement: equal runs pass, a perturbation beyond the float32 tolerance fails at its step, one inside passes', () => {
  const ref = [0.85, 0.81, 0.78, 0.75, 0.72];
  assert.equal(compareLosses(ref, [...ref]), { steps: 5, maxAbs: 0, maxRel: 0, pass: true, firstFailStep: null, tolerance: { ...LOSS_TOLERANCE } });
  const off = [...ref];
  off[3] = ref[3]! * (1 + 5 * LOSS_TOLERANCE.rtol);
  const bad = compareLosses(off, ref);
  assert.is(bad.pass, false);
  assert.is(bad.firstFailStep, 3);
  assert.ok(Math.abs(bad.maxRel - 5 * LOSS_TOLERANCE.rtol) < 1e-9, String(bad.maxRel));
  const near = [...ref];
  near[3] = ref[3]! * (1 + 0.1 * LOSS_TOLERANCE.rtol);
  assert.is(compareLosses(near, ref).pass, true);
  assert.is(identicalLosses(near, ref), false);
  assert.is(compareLosses(ref.slice(0, 4), ref).pass, false);
  assert.match(compareLosses(ref.slice(0, 4), ref).note ?? '', /different lengths/);
  assert.is(compareLosses([NaN, ...ref.slice(1)], ref).pass, false);
  // A case whose runs stopped short of the asked-for steps is not a pass either.
  const run = (losses: number[]) => ({ requested: 'cpu', provider: 'cpu', threads: 2, losses });
  assert.is(lossCase('short', 5, run(ref.slice(0, 3)), run(ref.slice(0, 3))).agreement.pass, false);
  assert.is(lossCase('ok', 5, run(ref), run([...ref]), { test: run([...ref]), reference: run(near) }).deterministic.reference, false);
});

test('probe run (provider + block, webgpu asked): rows name the provider that ran, cpu-vs-cpu losses agree, files complete', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-gpu-probe-test-'));
  try {
    const snapshots: ProbeResult[] = [];
    const r = await runProbe({ provider: 'webgpu', threads: 2, quick: true, sizes: TINY, sections: ['provider', 'block'] }, async (partial) => {
      snapshots.push(JSON.parse(JSON.stringify(partial)) as ProbeResult);
      await writeProbe(dir, partial);
    });
    // A partial file (the run killed after the first section) says so.
    assert.equal(snapshots.map((s) => [s.sectionsDone, s.complete]), [[['provider'], false], [['provider', 'block'], false]]);
    assert.is(r.complete, true);
    const gpuWorks = r.providerCheck!.rows.find((x) => x.provider === 'webgpu')!.ok;
    const expected = gpuWorks ? 'webgpu' : 'cpu';

    await writeProbe(dir, r);
    assert.equal(readdirSync(dir).sort(), ['probe.json', 'probe.md']);
    const j = JSON.parse(readFileSync(join(dir, 'probe.json'), 'utf8')) as ProbeResult;
    assert.is(j.format, 'tessera-gpu-probe/1');
    assert.is(j.complete, true);
    assert.equal(j.sectionsDone, ['provider', 'block']);
    assert.equal(j.skipped, []);
    assert.equal(j.sizes, TINY);
    assert.equal(j.timings.map((t) => [t.section, t.label, t.requested, t.provider, t.fellBack, t.threads, t.n]), [
      ['block-step', 'webgpu', 'webgpu', expected, !gpuWorks, 2, TINY.steps],
      ['block-step', 'cpu-2', 'cpu', 'cpu', false, 2, TINY.steps],
      ['block-step', 'cpu-2', 'cpu', 'cpu', false, 2, TINY.steps],
    ]);
    for (const t of j.timings) assert.ok(t.medianMs > 0 && t.minMs <= t.medianMs && t.medianMs <= t.maxMs && t.buildMs >= 0, JSON.stringify(t));

    assert.equal(j.correctness.map((c) => c.case), ['transformer block', 'transformer block, cpu 2 vs cpu threads']);
    const block = j.correctness[0]!;
    assert.is(block.steps, TINY.lossSteps);
    assert.is(block.test.provider, expected);
    assert.is(block.test.fellBack, !gpuWorks);
    assert.is(block.test.losses.length, TINY.lossSteps);
    assert.ok(block.test.losses.every(Number.isFinite) && block.test.losses[0]! > 0, JSON.stringify(block.test.losses));
    assert.is(typeof block.deterministic.test, 'boolean');
    assert.is(typeof block.deterministic.reference, 'boolean');
    if (!gpuWorks) {
      // Same provider, threads, init and data: the fallback's losses are cpu's, bit for bit.
      assert.equal(block.test.losses, block.reference.losses);
      assert.is(block.agreement.pass, true);
    }
    const md = readFileSync(join(dir, 'probe.md'), 'utf8');
    assert.is(md, formatProbe(j));
    assert.match(md, /## \(f\) Loss agreement/);
    if (!gpuWorks) assert.match(md, /\| block train step \| — \| webgpu \| cpu \(FELL BACK from webgpu\) \|/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('probe run past its deadline: sections are listed as skipped and the result is not complete', async () => {
  const r = await runProbe({ provider: 'cpu', threads: 2, quick: true, sizes: { ...TINY, deadlineMs: -1 } });
  assert.equal(r.sectionsDone, []);
  assert.equal(r.skipped.map((s) => s.section), ['provider', 'block', 'placement', 'sampling', 'mosaic']);
  assert.is(r.complete, false);
  assert.match(formatProbe(r), /SKIPPED: provider \(deadline/);
  const err = await runProbe({ provider: 'cpu', threads: 0, quick: true }).then(() => null, (e: Error) => e);
  assert.match(String(err?.message), /threads must be an integer/);
});

test('probe CLI: a bad option is a usage error (exit 2) naming it', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/gpu/probe.ts', '--provider', 'cuda'], { encoding: 'utf8' });
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /--provider must be webgpu, cpu or auto, got 'cuda'/);
});

test.run();
