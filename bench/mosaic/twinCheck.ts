/**
 * Is bench/mosaic/twin_step.py the same computation as tessera's MOSAIC step? Both sides start
 * from the same initial weights, batch and per-step noise (twinCase.ts writes them), run the
 * same steps, and this compares, within float32 tolerances (twinCompare.ts):
 *   - per step: loss, diffusion, SCAL, MDL and the gradient norm before clipping;
 *   - at the initial weights: every parameter's gradient (tessera's autodiff of the same model
 *     function vs PyTorch autograd);
 *   - after the steps (AdamW, clip 1): every parameter.
 *
 *   node --import ./core/loader/register.mjs bench/mosaic/twinCheck.ts [--k 3] [--batch 2] [--steps 3]
 *       [--weights bundled|init] [--seed 0] [--threads 2] [--dir DIR] [--write-reference PATH]
 *
 * --write-reference writes the PyTorch numbers' summary that test/mosaic/twin.test.ts checks
 * tessera against (test/mosaic/fixtures/twin-reference.json), so tests need no Python.
 * Exit code 1 when any comparison is out of tolerance.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensors, type Tensor } from '../../kernels/index.ts';
import { writeFileAtomic } from '../../core/util/writeFileAtomic.ts';
import { num, opt } from './benchArgs.ts';
import { TWIN_OPTIMIZER, runTessera, twinCase, writeTwinCase } from './twinCase.ts';
import { compareSteps, compareTensor, failures, relDiff, summarize, type Finding, type TwinReference } from './twinCompare.ts';
import { runTorchCheck } from './twinTorch.ts';

const k = num('k', 3, 1);
const batch = num('batch', 2, 1);
const steps = num('steps', 3, 1);
const seed = num('seed', 0, 0);
const threads = num('threads', 2, 1);
const weights = opt('weights') ?? 'bundled';
if (weights !== 'bundled' && weights !== 'init') throw new RangeError(`--weights must be 'bundled' or 'init', got '${weights}'`);
const dir = opt('dir') ?? mkdtempSync(join(tmpdir(), 'mosaic-twin-'));
const refPath = opt('write-reference');

const c = await twinCase({ k, batch, seed, weights });
await writeTwinCase(c, dir, steps);
console.log(`case: MOSAIC ${c.config.preset}, K = ${k}, batch ${batch}, ${steps} steps, weights ${weights}, seed ${seed}; files in ${dir}${opt('dir') === undefined ? ' (removed at the end; --dir keeps them)' : ''}`);
const t0 = performance.now();
runTorchCheck(dir, dir, threads);
const torchMs = performance.now() - t0;
const t1 = performance.now();
const ours = await runTessera(c, steps);
const tesseraMs = performance.now() - t1;
const theirs = JSON.parse(readFileSync(join(dir, 'torch.json'), 'utf8')) as { torch: string; steps: Record<string, number>[] };
const tt = (await loadSafetensors(join(dir, 'torch.safetensors'))).tensors;
console.log(`PyTorch ${theirs.torch}: ${(torchMs / 1000).toFixed(1)} s; tessera: ${(tesseraMs / 1000).toFixed(1)} s (both include building and the gradient pass)`);

const data = (t: Tensor | undefined, what: string): ArrayLike<number> => {
  if (!t) throw new Error(`twin: missing ${what}`);
  return t.data as ArrayLike<number>;
};
const findings: Finding[] = compareSteps(ours.steps, theirs.steps);
const tensorFindings: Finding[] = [];
for (const name of Object.keys(c.params).sort()) {
  tensorFindings.push(
    ...compareTensor(name, c.config.width, steps, TWIN_OPTIMIZER.lr, { grad: data(ours.grads[name], `tessera gradient ${name}`), start: data(c.params[name], name), param: data(ours.params[name], `tessera ${name}`) }, { grad: data(tt[`grad.${name}`], `PyTorch gradient ${name}`), param: data(tt[`param.${name}`], `PyTorch ${name}`) }),
  );
}
findings.push(...tensorFindings);

console.log('\nper step (tessera | PyTorch | relative difference):');
ours.steps.forEach((row, s) => {
  const cells = Object.keys(theirs.steps[s]!).map((key) => `${key} ${row[key]!.toPrecision(7)} | ${theirs.steps[s]![key]!.toPrecision(7)} | ${relDiff(row[key]!, theirs.steps[s]![key]!).toExponential(1)}`);
  console.log(`  step ${s}: ${cells.join(';  ')}`);
});
// The worst of each kind of tensor comparison (the text after the tensor's name names the kind).
const kinds = new Map<string, Finding>();
for (const f of tensorFindings) {
  const kind = f.what.replace(/^\S+/, '');
  if (!kinds.has(kind) || f.value > kinds.get(kind)!.value) kinds.set(kind, f);
}
console.log(`\n${Object.keys(c.params).length} tensors; worst of each comparison:`);
for (const [, f] of kinds) console.log(`  ${f.what}: ${f.value.toExponential(2)} (limit ${f.limit})`);
const bad = failures(findings);
for (const f of bad) console.log(`  OUT OF TOLERANCE: ${f.what}: ${f.value.toExponential(2)} > ${f.limit}`);
console.log(bad.length ? `${bad.length} of ${findings.length} comparisons out of tolerance` : `all ${findings.length} comparisons within tolerance`);

if (refPath) {
  if (bad.length) throw new Error('twin: not writing a reference from a run that disagrees with tessera');
  const start: Record<string, ArrayLike<number>> = Object.create(null);
  const grads: Record<string, ArrayLike<number>> = Object.create(null);
  const params: Record<string, ArrayLike<number>> = Object.create(null);
  for (const name of Object.keys(c.params)) {
    start[name] = data(c.params[name], name);
    grads[name] = data(tt[`grad.${name}`], `PyTorch gradient ${name}`);
    params[name] = data(tt[`param.${name}`], `PyTorch ${name}`);
  }
  const ref: TwinReference = {
    note: 'PyTorch twin of the MOSAIC small step (bench/mosaic/twin_step.py); regenerate with `bash bench/mosaic/twin.sh --check-only --write-reference test/mosaic/fixtures/twin-reference.json`',
    torch: theirs.torch,
    case: { preset: c.config.preset, k, batch, seed, weights, steps },
    steps: theirs.steps,
    tensors: summarize(grads, params, start, c.config.width),
  };
  await writeFileAtomic(refPath, JSON.stringify(ref, null, 1) + '\n');
  console.log(`wrote ${refPath}`);
}
// A temporary case folder goes; one named with --dir stays for inspection.
if (opt('dir') === undefined) rmSync(dir, { recursive: true, force: true });
process.exit(bad.length ? 1 : 0);
