/**
 * Packed GPU probe (not a test): on one machine, WebGPU against cpu for tessera's own graphs —
 * (a) which providers open a session, (b) the placement report, (c) the transformer-block
 * training step, (d) the MOSAIC training step at K = 2, 4, 6, (e) MOSAIC Euler sampling images/s,
 * (f) the first training losses on the provider under test against cpu (same init and data)
 * and whether repeated runs are identical.
 *
 *   node --import tsx bench/gpu/probe.ts [--provider webgpu|cpu|auto] [--threads 16] [--quick] [--out DIR]
 *
 * On a GPU machine without node it runs from the pack (bench/gpu/pack.sh, bench/gpu/runProbe.sh).
 * --out DIR gets probe.json and probe.md (rewritten after every section, atomically); the same
 * tables go to stdout. A webgpu session that falls back to cpu says so in every row.
 */
import { resolve } from 'node:path';
import { writeProbe, formatProbe } from './probeReport.ts';
import { SECTIONS, runProbe, type Section } from './probeRun.ts';

const USAGE = 'usage: probe [--provider webgpu|cpu|auto] [--threads 16] [--quick] [--out DIR] [--sections provider,block,placement,sampling,mosaic]';
const argv = process.argv.slice(2);
const KNOWN = new Set(['--provider', '--threads', '--quick', '--out', '--sections', '--help']);
function fail(msg: string): never {
  process.stderr.write(`probe: ${msg}\n${USAGE}\n`);
  process.exit(2);
}
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (!KNOWN.has(a)) fail(`unknown argument '${a}'`);
  if (a !== '--quick' && a !== '--help') i++;
}
if (argv.includes('--help')) {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) fail(`--${name} needs a value`);
  return v;
};

const provider = opt('provider') ?? 'webgpu';
if (provider !== 'webgpu' && provider !== 'cpu' && provider !== 'auto') fail(`--provider must be webgpu, cpu or auto, got '${provider}'`);
const threadsArg = opt('threads') ?? '16';
const threads = Number(threadsArg);
if (!Number.isInteger(threads) || threads < 1 || threads > 256) fail(`--threads must be an integer in 1..256, got '${threadsArg}'`);
const sectionsArg = opt('sections');
const sections = sectionsArg?.split(',').map((s) => s.trim());
const bad = sections?.find((s) => !(SECTIONS as readonly string[]).includes(s));
if (bad !== undefined) fail(`unknown section '${bad}' (known: ${SECTIONS.join(', ')})`);
const out = opt('out');
const outDir = out === undefined ? undefined : resolve(out);

const result = await runProbe(
  { provider, threads, quick: argv.includes('--quick'), ...(sections ? { sections: sections as Section[] } : {}) },
  async (partial) => {
    if (outDir) await writeProbe(outDir, partial);
  },
  (line) => process.stderr.write(line + '\n'),
);
if (outDir) await writeProbe(outDir, result);
process.stdout.write(formatProbe(result));
if (outDir) process.stdout.write(`\nwrote ${outDir}/probe.json and probe.md\n`);
