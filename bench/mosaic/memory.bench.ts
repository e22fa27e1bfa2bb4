// Peak memory and speed of mixed-K MOSAIC training (a benchmark, not a test).
//
//   node --import ./core/loader/register.mjs bench/mosaic/memory.bench.ts [options]
//
//   --presets small,latent-v2   model presets (one after another)
//   --ks 1,2,3,4,5,6,7,8        the K variants one Trainer holds (one step graph each)
//   --batch small=4,latent-v2=24  samples per step per preset (default: 4, and 24 for latent-v2 as graphs/mosaic-v2-train.json)
//   --steps 48                  mixed steps after the warm-up cycle (K drawn at random per step, seeded)
//   --modes arena,noarena,noarena-nopattern   session memory settings compared (see below; the first is the speed baseline)
//   --speed-steps 32            paired steps of the interleaved speed run (0: skip it)
//   --json PATH                 write the results as JSON
//
// What it measures. One Trainer per (preset, mode), as runTraining builds it for mixed-K data: the
// first K is the base graph, the others `addVariant`s over one parameter buffer, spinning off. The
// step graph is the heaviest a run trains: taps on all blocks, SCAL (α 0.4) + MDL (β 0.6, JSD), and
// for latent presets the subject-weighted flow loss. Feeds are random tensors of the graph's input
// shapes (values in [0, 1)): memory and time depend on the shapes, not on the values.
//
// Modes: 'arena' = today's sessions (ORT CPU arena on: each session keeps its peak working set);
// 'noarena' = `cpuArena: false` (a run's buffers return to the system allocator when it ends; the
// memory pattern still plans one block per run); 'noarena-nopattern' = `cpuArena: false,
// memPattern: false` (one malloc per tensor, which glibc serves from memory it keeps across runs).
//
// Peak RSS: each (preset, mode) runs in a fresh child process; after a warm-up cycle over every K
// (each session built and run once) and `--steps` random-K steps it reports VmHWM and VmRSS from
// /proc/self/status. Not load-sensitive.
//
// Speed: one more child per preset holds one Trainer per mode (same seed, so the same parameters)
// and runs the same random K sequence on both, alternating which mode goes first at every step;
// it reports per-mode median step ms and the median of the paired per-step ratios. Load-sensitive:
// the load average from /proc/loadavg is printed at the start and the end.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Rng } from 'tessera';
import { Graph, Tensor, Trainer, adamw, type ModelFn } from '../../kernels/index.ts';
import { resolveConfig, type MosaicConfig } from '../../plugins/mosaic/model/MosaicConfig.ts';
import { trainingStepProgram } from '../../plugins/mosaic/model/mosaicPrograms.ts';
import { tokenLayout } from '../../plugins/mosaic/model/mosaicNetwork.ts';
import { median, opt, num, round } from './benchArgs.ts';

const argv = process.argv.slice(2);
const list = (name: string, def: string[]) => (opt(name)?.split(',').map((s) => s.trim()).filter(Boolean) ?? def);
const presets = list('presets', ['small', 'latent-v2']);
const ks = list('ks', ['1', '2', '3', '4', '5', '6', '7', '8']).map(Number);
if (ks.some((k) => !Number.isInteger(k) || k < 1 || k > 8)) throw new RangeError(`--ks must be integers in 1…8, got '${opt('ks')}'`);
const steps = num('steps', 48, 0);
const speedSteps = num('speed-steps', 32, 0);
const MODES = ['arena', 'noarena', 'noarena-nopattern'] as const;
type Mode = (typeof MODES)[number];
const modes = list('modes', [...MODES]) as Mode[];
for (const m of modes) if (!MODES.includes(m)) throw new RangeError(`--modes: unknown mode '${m}' (known: ${MODES.join(', ')})`);
const batchOverrides = new Map((opt('batch') ?? '').split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
const batchFor = (preset: string): number => {
  const v = batchOverrides.get(preset);
  if (v !== undefined) {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`--batch ${preset}=${v}: a positive integer is needed`);
    return n;
  }
  return resolveConfig(preset).space === 'latent' ? 24 : 4;
};

// ---------------------------------------------------------------- the trainer of one mode

const sessionOptions = (mode: Mode) => ({ cpuArena: mode === 'arena', memPattern: mode !== 'noarena-nopattern' });

function stepProgram(c: MosaicConfig, k: number, batch: number): ModelFn {
  return trainingStepProgram(c, k, batch, {
    scal: true,
    mdl: { distance: 'jsd' },
    tapBlocks: Array.from({ length: c.depth }, (_, i) => i),
    subjectWeighted: c.space === 'latent',
  });
}

/** Random feeds for every input of a step graph (the trainer draws its own noise from `seed`). */
function randomFeeds(fn: ModelFn, seed: number): Record<string, Tensor> {
  const g = new Graph();
  fn(g);
  const rng = new Rng(seed);
  const feeds: Record<string, Tensor> = {};
  for (const s of g.inputs.values()) {
    if (s.name === 'seed') continue;
    const size = s.shape.reduce((a, b) => a * b, 1);
    feeds[s.name] = new Tensor('float32', s.shape, Float32Array.from({ length: size }, () => rng.float()));
  }
  return feeds;
}

async function buildTrainer(c: MosaicConfig, batch: number, mode: Mode) {
  const fns = new Map(ks.map((k) => [k, stepProgram(c, k, batch)]));
  const trainer = await Trainer.create(fns.get(ks[0]!)!, { optimizer: adamw({ lr: 1e-4 }), clipGradNorm: 1, seed: 0, spin: false, ...sessionOptions(mode) });
  for (const k of ks.slice(1)) await trainer.addVariant(`k${k}`, fns.get(k)!);
  const feeds = new Map(ks.map((k) => [k, randomFeeds(fns.get(k)!, k)]));
  const step = (k: number) => trainer.step(feeds.get(k)!, { variant: k === ks[0] ? undefined : `k${k}` });
  return { trainer, step };
}

/** The K of every mixed step: a warm-up cycle over all K, then uniform draws. */
function kSequence(n: number): number[] {
  const rng = new Rng(7);
  return [...ks, ...Array.from({ length: n }, () => ks[rng.int(ks.length)]!)];
}

const status = () => {
  const text = readFileSync('/proc/self/status', 'utf8');
  const kib = (key: string) => Number(/^(\w+):\s+(\d+)/m.exec(text.split('\n').find((l) => l.startsWith(`${key}:`)) ?? '')?.[2] ?? NaN);
  return { hwmMiB: round(kib('VmHWM') / 1024, 1), rssMiB: round(kib('VmRSS') / 1024, 1) };
};
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);

async function rssChild(preset: string, mode: Mode) {
  const c = resolveConfig(preset);
  const t0 = performance.now();
  const { trainer, step } = await buildTrainer(c, batchFor(preset), mode);
  const buildMs = performance.now() - t0;
  const afterBuild = status();
  const ms: number[] = [];
  try {
    const seq = kSequence(steps);
    for (const [i, k] of seq.entries()) {
      const a = performance.now();
      const r = await step(k);
      if (!Number.isFinite(r.loss)) throw new Error(`non-finite loss at K = ${k}`);
      if (i >= ks.length) ms.push(performance.now() - a);
    }
    return { preset, mode, buildMs: Math.round(buildMs), afterBuild, ...status(), stepMsMedian: round(median(ms), 1), steps: ms.length };
  } finally {
    await trainer.dispose();
  }
}

async function speedChild(preset: string) {
  const c = resolveConfig(preset);
  const batch = batchFor(preset);
  const trainers = new Map<Mode, Awaited<ReturnType<typeof buildTrainer>>>();
  for (const m of modes) trainers.set(m, await buildTrainer(c, batch, m));
  const times = new Map<Mode, number[]>(modes.map((m) => [m, []]));
  // Per mode after the first: its step time over the first mode's, step by step.
  const ratios = new Map<Mode, number[]>(modes.slice(1).map((m) => [m, []]));
  const lossesEqual: boolean[] = [];
  try {
    const seq = kSequence(speedSteps);
    for (const [i, k] of seq.entries()) {
      // Rotate which mode goes first, so load drift hits every mode alike.
      const order = modes.map((_, j) => modes[(i + j) % modes.length]!);
      const one = new Map<Mode, { ms: number; loss: number }>();
      for (const m of order) {
        const a = performance.now();
        const r = await trainers.get(m)!.step(k);
        one.set(m, { ms: performance.now() - a, loss: r.loss });
      }
      if (i < ks.length) continue;
      for (const m of modes) times.get(m)!.push(one.get(m)!.ms);
      for (const m of modes.slice(1)) {
        ratios.get(m)!.push(one.get(m)!.ms / one.get(modes[0]!)!.ms);
        lossesEqual.push(one.get(m)!.loss === one.get(modes[0]!)!.loss);
      }
    }
  } finally {
    for (const t of trainers.values()) await t.trainer.dispose();
  }
  return {
    preset,
    perMode: Object.fromEntries(modes.map((m) => [m, round(median(times.get(m)!), 1)])),
    pairedRatios: [...ratios].map(([m, r]) => ({ of: `${m}/${modes[0]}`, median: round(median(r), 3), min: round(Math.min(...r), 3), max: round(Math.max(...r), 3) })),
    sameLossEveryStep: lossesEqual.every(Boolean),
    steps: times.get(modes[0]!)!.length,
  };
}

const child = opt('child');
if (child !== undefined) {
  const [kind, preset, mode] = child.split(':') as [string, string, Mode];
  const out = kind === 'speed' ? await speedChild(preset) : await rssChild(preset, mode);
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

// ---------------------------------------------------------------- parent

function spawnChild(what: string): Record<string, unknown> {
  const script = fileURLToPath(import.meta.url);
  const pass = argv.filter((_, i) => argv[i] !== '--child' && argv[i - 1] !== '--child');
  const r = spawnSync(process.execPath, [...process.execArgv, script, ...pass, '--child', what], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`child ${what} failed (exit ${r.status ?? r.signal}):\n${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

const cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
const flags = /^flags\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.split(' ') ?? [];
const simd = ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_tile'].filter((f) => flags.includes(f));
const started = { date: new Date().toISOString(), loadavg: loadavg() };
console.log(`mixed-K MOSAIC training memory — K = ${ks.join(',')}, ${steps} random-K steps after one warm-up cycle; modes ${modes.join(', ')}`);
console.log(`machine: ${cpu} (${simd.join(' ')}), load average ${started.loadavg.join(' ')}; ${started.date}; node ${process.version}`);

const results: Record<string, unknown>[] = [];
for (const preset of presets) {
  const c = resolveConfig(preset);
  console.log(`\n${preset} (width ${c.width}, depth ${c.depth}), batch ${batchFor(preset)}, tokens per sample ${ks.map((k) => tokenLayout(c, k).total).join('/')}`);
  for (const mode of modes) {
    const r = spawnChild(`rss:${preset}:${mode}`);
    results.push({ kind: 'rss', loadavg: loadavg(), ...r });
    const ab = r.afterBuild as { hwmMiB: number };
    console.log(`  ${mode.padEnd(8)} peak RSS (VmHWM) ${String(r.hwmMiB).padStart(7)} MiB, RSS at the end ${r.rssMiB} MiB, peak after building the sessions ${ab.hwmMiB} MiB; build ${r.buildMs} ms; step ${r.stepMsMedian} ms median (load ${loadavg()[0]})`);
  }
  if (speedSteps > 0 && modes.length > 1) {
    const la = loadavg();
    const s = spawnChild(`speed:${preset}`);
    results.push({ kind: 'speed', loadavgStart: la, loadavgEnd: loadavg(), ...s });
    const prs = s.pairedRatios as { of: string; median: number; min: number; max: number }[];
    console.log(`  interleaved, ${s.steps} paired steps: median step ms ${JSON.stringify(s.perMode)}; paired ratios ${prs.map((pr) => `${pr.of} median ${pr.median} (${pr.min}–${pr.max})`).join(', ')}; same loss every step: ${s.sameLossEveryStep} (load ${la.join(' ')} → ${loadavg().join(' ')})`);
  }
}
console.log(`\nload average at the end: ${loadavg().join(' ')} (step times were taken on a shared machine; RSS figures are not load-sensitive)`);
const jsonPath = opt('json');
if (jsonPath) {
  writeFileSync(jsonPath, JSON.stringify({ bench: 'mosaic-memory', machine: { cpu, simd }, started, ended: { date: new Date().toISOString(), loadavg: loadavg() }, ks, steps, speedSteps, results }, null, 2) + '\n');
  console.log(`wrote ${jsonPath}`);
}
