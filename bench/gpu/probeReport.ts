/**
 * The packed GPU probe's report: probe.json (everything) and probe.md (tables), written
 * atomically, and the same markdown as the human summary on stdout.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../../core/util/writeFileAtomic.ts';
import { formatPlacement } from './placementTable.ts';
import type { ProbeResult } from './probeRun.ts';
import type { TimingRow } from './probeMeasure.ts';

const ranOn = (r: { requested: string; provider: string }) => (r.requested === r.provider ? r.provider : `${r.provider} (FELL BACK from ${r.requested})`);
const num = (x: number | null, d = 2) => (x === null || !Number.isFinite(x) ? '—' : x.toFixed(d));
const sci = (x: number) => (x === 0 ? '0' : x.toExponential(2));

/** webgpu ÷ cpu per (section, K), only where the webgpu row really ran on webgpu. */
function speedups(rows: readonly TimingRow[]): string[] {
  const out: string[] = [];
  const keyOf = (r: TimingRow) => `${r.section}${r.k === null ? '' : ` K=${r.k}`}`;
  const groups = new Map<string, TimingRow[]>();
  for (const r of rows) groups.set(keyOf(r), [...(groups.get(keyOf(r)) ?? []), r]);
  for (const [key, rs] of groups) {
    const gpu = rs.find((r) => r.requested === 'webgpu');
    const cpu = rs.filter((r) => r.requested === 'cpu').sort((a, b) => b.threads - a.threads)[0];
    if (!gpu || !cpu) continue;
    if (gpu.fellBack) out.push(`${key}: no WebGPU figure (the webgpu session fell back to cpu)`);
    else out.push(`${key}: WebGPU ${gpu.section === 'sampling' ? `${num(gpu.imagesPerSecond)} vs ${num(cpu.imagesPerSecond)} images/s` : `${num(gpu.medianMs)} vs ${num(cpu.medianMs)} ms`} on cpu-${cpu.threads} (${num(cpu.medianMs / gpu.medianMs)}× the cpu speed)`);
  }
  return out;
}

export function formatProbe(r: ProbeResult): string {
  const L: string[] = [];
  const m = r.machine;
  L.push(`# tessera GPU probe${r.quick ? ' (--quick: tiny sizes, a dry run, not a measurement)' : ''}`);
  L.push('');
  L.push(`${r.date}; ${m.cpu} × ${m.cores}; node ${m.node} ${m.platform}; provider under test: ${r.requested}; cpu threads ${r.threads}; MOSAIC preset ${r.sizes.preset}`);
  L.push(`VK_DRIVER_FILES=${m.vkDriverFiles ?? '(unset)'}; __EGL_VENDOR_LIBRARY_FILENAMES=${m.eglVendorFiles ?? '(unset)'}`);
  L.push(`sections done: ${r.sectionsDone.join(', ') || 'none'}${r.skipped.length ? `; SKIPPED: ${r.skipped.map((s) => `${s.section} (${s.why})`).join(', ')}` : ''}; ${r.complete ? 'complete' : 'INCOMPLETE'}; ${Math.round(r.elapsedMs / 1000)} s`);
  if (r.providerCheck) {
    const pc = r.providerCheck;
    L.push('', '## (a) Providers', '');
    L.push(`onnxruntime-node ${pc.ortVersion} from ${pc.ortFrom}; listSupportedBackends: ${pc.backends.map((b) => `${b.name}${b.bundled ? '' : ' (not bundled)'}`).join(', ')}`);
    L.push('', '| provider | session opens | create ms | max abs err vs cpu | ORT error (first line) |', '|---|---|---|---|---|');
    for (const row of pc.rows) L.push(`| ${row.provider} | ${row.ok ? 'yes' : 'NO'} | ${row.createMs ?? '—'} | ${row.maxAbsErrVsCpu === null ? '—' : sci(row.maxAbsErrVsCpu)} | ${row.error ?? ''} |`);
  }
  if (r.placement) {
    const p = r.placement;
    L.push('', `## (b) Placement: transformer-block step, requested ${p.requested}, ran on ${ranOn(p)}, ${p.steps} steps profiled`, '');
    L.push(`graph before ORT optimisation: ${p.graphNodes} nodes, ${p.graphOps.length} op types`, '', '```', formatPlacement(p.rows, p.steps), '```');
  }
  if (r.timings.length) {
    L.push('', '## (c, d, e) Timings', '');
    L.push('| what | K | asked | ran on | threads | build ms | n | median ms | min–max ms | images/s |', '|---|---|---|---|---|---|---|---|---|---|');
    for (const t of r.timings) {
      const what = t.section === 'block-step' ? 'block train step' : t.section === 'mosaic-step' ? `MOSAIC ${r.sizes.preset} train step` : `MOSAIC ${r.sizes.preset} Euler eval (batch ${r.sizes.sampleCount})`;
      L.push(`| ${what} | ${t.k ?? '—'} | ${t.label} | ${ranOn(t)} | ${t.threads} | ${t.buildMs} | ${t.n}${t.capped ? ' (capped)' : ''} | ${num(t.medianMs)} | ${num(t.minMs)}–${num(t.maxMs)} | ${num(t.imagesPerSecond)} |`);
    }
    const s = speedups(r.timings);
    if (s.length) L.push('', ...s.map((x) => `- ${x}`));
  }
  if (r.correctness.length) {
    L.push('', `## (f) Loss agreement (tolerance per step: |Δ| ≤ ${r.tolerance.atol} + ${r.tolerance.rtol}·|loss_ref|, float32)`, '');
    L.push('| case | steps | test ran on | reference | max abs Δ | max rel Δ | result | test run repeated identical | reference repeated identical |', '|---|---|---|---|---|---|---|---|---|');
    const yn = (b: boolean | null) => (b === null ? '—' : b ? 'yes' : 'no');
    for (const c of r.correctness) {
      const a = c.agreement;
      L.push(`| ${c.case} | ${c.steps} | ${ranOn(c.test)} ${c.test.threads}t | ${c.reference.provider} ${c.reference.threads}t | ${sci(a.maxAbs)} | ${sci(a.maxRel)} | ${a.pass ? 'PASS' : `FAIL${a.firstFailStep !== null ? ` (step ${a.firstFailStep})` : ''}${a.note ? ` — ${a.note}` : ''}`} | ${yn(c.deterministic.test)} | ${yn(c.deterministic.reference)} |`);
    }
    const fellBack = r.correctness.filter((c) => c.test.fellBack);
    if (fellBack.length) L.push('', `Cases whose test run fell back to cpu compare cpu with cpu: ${fellBack.map((c) => c.case).join(', ')}.`);
  }
  return L.join('\n') + '\n';
}

/** Writes probe.json and probe.md into `dir`, each atomically (temp file + rename). */
export async function writeProbe(dir: string, r: ProbeResult): Promise<void> {
  await writeFileAtomic(join(dir, 'probe.json'), JSON.stringify(r, null, 1) + '\n');
  await writeFileAtomic(join(dir, 'probe.md'), formatProbe(r));
}
