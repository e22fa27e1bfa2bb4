// MOSAIC training cost per K (a benchmark, not a test).
//
//   node --import ./core/loader/register.mjs bench/mosaic/train.bench.ts [options]
//
//   --preset small        model preset (plugins/mosaic/model/MosaicConfig.ts)
//   --ks 1,2,3,4,5,6,7,8  K values measured one by one, each in its own child process
//   --batch 4             samples per step
//   --steps 30            timed steps per K (after the warm-up)
//   --warmup 3            untimed steps per K first (JIT, ORT arena)
//   --spin off|on         ORT pool spinning of the per-K runs (default off, as in a mixed-K training run)
//   --threads N           intra-op threads (default: the session default, 2)
//   --seed 0              batch/initialisation seed
//   --variants-check      also a mixed-K run: one Trainer with variants k1…k6, steps cycling K
//   --mixed-ks 1,...,6    the K values of that run
//   --json PATH           write the results as JSON (e.g. bench/results/mosaic-train.json)
//   --plot PATH           write an SVG: step ms vs tokens and peak RSS vs tokens with the fits
//
// What it measures. The step graph is what a real run trains: the model from
// `new MosaicModel(preset).withTaps(all blocks)` with SCAL (α 0.4, per reference) and MDL
// (β 0.6, no warm-up, annotated points, JSD), its `trainingProgram(samples, {steps}).modelFn('k'+K,
// batch)` built into a Trainer (AdamW, grad clip 1), batches from `program.batch(step, batch,
// seed)` over SemAlign-Synth samples that all have K references. The step time is the wall time
// of `trainer.step` alone (batch packing is timed apart); samples/s = batch / median step.
// Tokens per sample = K + N + K·L (tokenLayout: layout tokens, target patches, reference patches).
//
// Peak RSS is `process.resourceUsage().maxRSS` of a fresh child process per K (spawned with the
// same --import), so the sessions and arenas of one K never count towards another. The parent
// only spawns, collects, fits and plots.
//
// --variants-check runs, in one more child, what runTraining does with mixed-K data: one Trainer
// whose variants are the K step graphs, session spinning off, steps cycling K = 1…6, and reports
// the median step time of each K in that setting (and its ratio to the isolated per-K run).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { machine, median, num, opt, round } from './benchArgs.ts';
import { fileURLToPath } from 'node:url';
import { Trainer, adamw } from 'tessera/kernels';
import { resolveConfig } from '../../plugins/mosaic/model/MosaicConfig.ts';
import { MosaicModel } from '../../plugins/mosaic/model/MosaicModel.ts';
import { tokenLayout } from '../../plugins/mosaic/model/mosaicNetwork.ts';
import { benchModel, programWithK } from './benchModel.ts';
import type { TrainingProgram } from '../../plugins/train/Trainable.ts';

// ---------------------------------------------------------------- options

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const list = (name: string, def: number[]) => {
  const v = opt(name);
  if (v === undefined) return def;
  const ks = v.split(',').map((s) => Number(s.trim()));
  if (ks.some((k) => !Number.isInteger(k) || k < 1 || k > 8)) throw new RangeError(`--${name} must be a comma list of integers in 1…8, got '${v}'`);
  return ks;
};

const preset = opt('preset') ?? 'small';
const ks = list('ks', [1, 2, 3, 4, 5, 6, 7, 8]);
const mixedKs = list('mixed-ks', [1, 2, 3, 4, 5, 6]);
const batch = num('batch', 4, 1);
const steps = num('steps', 30, 1);
const warmup = num('warmup', 3, 0);
const seed = num('seed', 0, 0);
const threads = opt('threads') === undefined ? undefined : num('threads', 2, 1);
const spin = (opt('spin') ?? 'off') === 'on';
const jsonPath = opt('json');
const plotPath = opt('plot');
const child = opt('child');

const config = resolveConfig(preset);

// ---------------------------------------------------------------- helpers


/** One MOSAIC training program whose samples all have K references (so every batch is variant k<K>). */
const programFor = (model: MosaicModel, k: number): TrainingProgram => programWithK(model, k, batch, warmup + steps);
const makeModel = benchModel;

const trainerOptions = (spinning: boolean) => ({
  optimizer: adamw({ lr: 1e-4 }),
  clipGradNorm: 1,
  seed,
  spin: spinning,
  ...(threads !== undefined ? { threads } : {}),
});

// ---------------------------------------------------------------- child: one K, or the mixed run

interface ChildResult {
  k: number;
  buildMs: number;
  stepMs: number[];
  batchMs: number[];
  params: number;
  maxRssKiB: number;
  loss: number;
}

async function runOneK(k: number): Promise<ChildResult> {
  const model = makeModel(config);
  const program = programFor(model, k);
  const variant = `k${k}`;
  const t0 = performance.now();
  const trainer = await Trainer.create(program.modelFn(variant, batch), trainerOptions(spin));
  const buildMs = performance.now() - t0;
  const stepMs: number[] = [];
  const batchMs: number[] = [];
  let loss = NaN;
  try {
    for (let s = 0; s < warmup + steps; s++) {
      const b0 = performance.now();
      const b = program.batch(s, batch, seed);
      const b1 = performance.now();
      if (b.variant !== variant) throw new Error(`expected a ${variant} batch, got ${b.variant}`);
      const r = await trainer.step(b.feeds, { outputs: b.metrics });
      const b2 = performance.now();
      loss = r.loss;
      if (s >= warmup) {
        batchMs.push(b1 - b0);
        stepMs.push(b2 - b1);
      }
    }
    return { k, buildMs, stepMs, batchMs, params: trainer.layout.trainableSize, maxRssKiB: process.resourceUsage().maxRSS, loss };
  } finally {
    await trainer.dispose();
  }
}

interface MixedResult {
  ks: number[];
  buildMs: number;
  stepMs: Record<string, number[]>;
  maxRssKiB: number;
}

async function runMixed(): Promise<MixedResult> {
  const model = makeModel(config);
  const programs = new Map(mixedKs.map((k) => [k, programFor(model, k)]));
  const [first, ...rest] = mixedKs;
  const t0 = performance.now();
  // As runTraining: the first K is the base graph, the others variants; spinning off.
  const trainer = await Trainer.create(programs.get(first!)!.modelFn(`k${first}`, batch), trainerOptions(false));
  for (const k of rest) await trainer.addVariant(`k${k}`, programs.get(k)!.modelFn(`k${k}`, batch));
  const buildMs = performance.now() - t0;
  const stepMs: Record<string, number[]> = Object.fromEntries(mixedKs.map((k) => [`k${k}`, []]));
  try {
    const total = (warmup + steps) * mixedKs.length;
    for (let s = 0; s < total; s++) {
      const k = mixedKs[s % mixedKs.length]!;
      const b = programs.get(k)!.batch(s, batch, seed);
      const a = performance.now();
      await trainer.step(b.feeds, { variant: k === first ? undefined : b.variant, outputs: b.metrics });
      if (s >= warmup * mixedKs.length) stepMs[b.variant]!.push(performance.now() - a);
    }
    return { ks: mixedKs, buildMs, stepMs, maxRssKiB: process.resourceUsage().maxRSS };
  } finally {
    await trainer.dispose();
  }
}

if (child !== undefined) {
  const out = child === 'mixed' ? await runMixed() : await runOneK(Number(child));
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}

// ---------------------------------------------------------------- parent

function spawnChild(what: string): unknown {
  const script = fileURLToPath(import.meta.url);
  const pass = argv.filter((_, i) => argv[i] !== '--child' && argv[i - 1] !== '--child');
  const r = spawnSync(process.execPath, [...process.execArgv, script, ...pass, '--child', what], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`child ${what} failed (exit ${r.status ?? r.signal}):\n${r.stdout}`);
  const last = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(last);
}

interface Fit {
  slope: number;
  intercept: number;
  r2: number;
}
function linearFit(xs: readonly number[], ys: readonly number[]): Fit {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    syy += (ys[i]! - my) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  const intercept = my - slope * mx;
  let ssr = 0;
  for (let i = 0; i < n; i++) ssr += (ys[i]! - (intercept + slope * xs[i]!)) ** 2;
  return { slope, intercept, r2: syy > 0 ? 1 - ssr / syy : 1 };
}

const startedAt = new Date();
const machineStart = machine();
console.log(`MOSAIC training cost per K — preset ${preset} (width ${config.width}, depth ${config.depth}, ${config.heads} heads, LoRA ${config.loraRank}), SCAL+MDL, batch ${batch}, ${warmup} warm-up + ${steps} timed steps per K, spin ${spin ? 'on' : 'off'}`);
console.log(`machine: ${machineStart.cpu}, ${machineStart.cores} cores, load average ${machineStart.loadavg.join(' ')}; ${startedAt.toISOString()}; node ${process.version}`);

interface Row {
  k: number;
  tokens: number;
  stepMsMedian: number;
  stepMsMin: number;
  stepMsMax: number;
  batchPackMsMedian: number;
  samplesPerSecond: number;
  peakRssMiB: number;
  buildMs: number;
  finalLoss: number;
}
const rows: Row[] = [];
let params = 0;
for (const k of ks) {
  const r = spawnChild(String(k)) as ChildResult;
  params = r.params;
  const med = median(r.stepMs);
  const row: Row = {
    k,
    tokens: tokenLayout(config, k).total,
    stepMsMedian: round(med, 1),
    stepMsMin: round(Math.min(...r.stepMs), 1),
    stepMsMax: round(Math.max(...r.stepMs), 1),
    batchPackMsMedian: round(median(r.batchMs), 2),
    samplesPerSecond: round(batch / (med / 1000), 2),
    peakRssMiB: round(r.maxRssKiB / 1024, 1),
    buildMs: Math.round(r.buildMs),
    finalLoss: round(r.loss, 4),
  };
  rows.push(row);
  console.error(`  K=${k}: ${row.stepMsMedian} ms/step, ${row.peakRssMiB} MiB peak RSS (load ${loadavg()[0]!.toFixed(2)})`);
}

const pad = (s: string | number, w: number) => String(s).padStart(w);
console.log(`\n${config.width}-wide model, ${params.toLocaleString('en')} trainable parameters`);
console.log(`${pad('K', 2)} ${pad('tokens', 6)} ${pad('step ms (med)', 13)} ${pad('min–max', 15)} ${pad('samples/s', 9)} ${pad('peak RSS MiB', 12)} ${pad('build ms', 8)}`);
for (const r of rows) {
  console.log(`${pad(r.k, 2)} ${pad(r.tokens, 6)} ${pad(r.stepMsMedian.toFixed(1), 13)} ${pad(`${r.stepMsMin.toFixed(0)}–${r.stepMsMax.toFixed(0)}`, 15)} ${pad(r.samplesPerSecond.toFixed(2), 9)} ${pad(r.peakRssMiB.toFixed(1), 12)} ${pad(r.buildMs, 8)}`);
}

const xs = rows.map((r) => r.tokens);
const msFit = rows.length >= 2 ? linearFit(xs, rows.map((r) => r.stepMsMedian)) : null;
const rssFit = rows.length >= 2 ? linearFit(xs, rows.map((r) => r.peakRssMiB)) : null;
if (msFit && rssFit) {
  console.log(`\nfit step ms = ${msFit.intercept.toFixed(1)} + ${msFit.slope.toFixed(3)} · tokens   (R² ${msFit.r2.toFixed(4)}; ${(msFit.slope * 1000 / batch).toFixed(1)} µs per token per sample)`);
  console.log(`fit peak RSS MiB = ${rssFit.intercept.toFixed(1)} + ${rssFit.slope.toFixed(3)} · tokens   (R² ${rssFit.r2.toFixed(4)})`);
}

let mixed: { ks: number[]; buildMs: number; peakRssMiB: number; perK: { k: number; tokens: number; stepMsMedian: number; steps: number; ratioToIsolated: number | null }[] } | null = null;
if (flag('variants-check')) {
  const m = spawnChild('mixed') as MixedResult;
  mixed = {
    ks: m.ks,
    buildMs: Math.round(m.buildMs),
    peakRssMiB: round(m.maxRssKiB / 1024, 1),
    perK: m.ks.map((k) => {
      const med = median(m.stepMs[`k${k}`]!);
      const iso = rows.find((r) => r.k === k);
      return { k, tokens: tokenLayout(config, k).total, stepMsMedian: round(med, 1), steps: m.stepMs[`k${k}`]!.length, ratioToIsolated: iso ? round(med / iso.stepMsMedian, 3) : null };
    }),
  };
  console.log(`\nmixed-K run (one Trainer, variants k${m.ks.join('/k')}, spin off, steps cycling K; build ${mixed.buildMs} ms, peak RSS ${mixed.peakRssMiB} MiB):`);
  console.log(`${pad('K', 2)} ${pad('tokens', 6)} ${pad('step ms (med)', 13)} ${pad('vs isolated', 11)}`);
  for (const r of mixed.perK) console.log(`${pad(r.k, 2)} ${pad(r.tokens, 6)} ${pad(r.stepMsMedian.toFixed(1), 13)} ${pad(r.ratioToIsolated === null ? '—' : `${r.ratioToIsolated.toFixed(2)}×`, 11)}`);
}

const machineEnd = machine();
console.log(`\nload average at the end: ${machineEnd.loadavg.join(' ')} (a busy machine inflates step times; compare runs at similar load)`);

const result = {
  bench: 'mosaic-train',
  date: startedAt.toISOString(),
  machine: { ...machineStart, loadavgEnd: machineEnd.loadavg },
  node: process.version,
  preset,
  config,
  trainableParams: params,
  loss: 'diffusion + 0.4·SCAL(reference) + 0.6·MDL(points, jsd), taps: all blocks',
  options: { ks, batch, steps, warmup, seed, spin, threads: threads ?? 'default' },
  runs: rows,
  fit: msFit && rssFit ? { stepMsVsTokens: mapFit(msFit), peakRssMiBVsTokens: mapFit(rssFit) } : null,
  mixed,
};
function mapFit(f: Fit) {
  return { slope: +f.slope.toPrecision(5), intercept: round(f.intercept, 2), r2: round(f.r2, 5) };
}
if (jsonPath) {
  writeFileSync(jsonPath, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${jsonPath}`);
}
if (plotPath) {
  writeFileSync(plotPath, plot(rows, msFit, rssFit));
  console.log(`wrote ${plotPath}`);
}

// ---------------------------------------------------------------- SVG (hand-written, no deps)

function niceTicks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(+t.toPrecision(10));
  return out;
}

function panel(x0: number, y0: number, w: number, h: number, pts: { x: number; y: number; label: string }[], fit: Fit | null, title: string, xLabel: string, yLabel: string): string {
  const m = { l: 58, r: 16, t: 30, b: 44 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const xsP = pts.map((p) => p.x);
  const ysP = pts.map((p) => p.y);
  const xMin = Math.min(...xsP);
  const xMax = Math.max(...xsP);
  const xPad = (xMax - xMin || xMax || 1) * 0.06;
  const xLo = Math.max(0, xMin - xPad);
  const xHi = xMax + xPad;
  const yLo = 0;
  const yHi = Math.max(...ysP, ...(fit ? [fit.intercept + fit.slope * xHi] : [])) * 1.1 || 1;
  const sx = (x: number) => x0 + m.l + ((x - xLo) / (xHi - xLo)) * pw;
  const sy = (y: number) => y0 + m.t + ph - ((y - yLo) / (yHi - yLo)) * ph;
  const parts: string[] = [];
  parts.push(`<text x="${x0 + m.l + pw / 2}" y="${y0 + 18}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  parts.push(`<rect x="${x0 + m.l}" y="${y0 + m.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (const t of niceTicks(xLo, xHi)) {
    parts.push(`<line x1="${sx(t)}" y1="${y0 + m.t}" x2="${sx(t)}" y2="${y0 + m.t + ph}" stroke="#eee"/>`);
    parts.push(`<text x="${sx(t)}" y="${y0 + m.t + ph + 16}" text-anchor="middle" font-size="11">${t}</text>`);
  }
  for (const t of niceTicks(yLo, yHi)) {
    parts.push(`<line x1="${x0 + m.l}" y1="${sy(t)}" x2="${x0 + m.l + pw}" y2="${sy(t)}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 + m.l - 6}" y="${sy(t) + 4}" text-anchor="end" font-size="11">${t}</text>`);
  }
  parts.push(`<text x="${x0 + m.l + pw / 2}" y="${y0 + h - 8}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>`);
  parts.push(`<text transform="translate(${x0 + 14} ${y0 + m.t + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(yLabel)}</text>`);
  if (fit) {
    parts.push(`<line x1="${sx(xLo)}" y1="${sy(fit.intercept + fit.slope * xLo)}" x2="${sx(xHi)}" y2="${sy(fit.intercept + fit.slope * xHi)}" stroke="#d62728" stroke-dasharray="5 3"/>`);
    parts.push(`<text x="${x0 + m.l + 8}" y="${y0 + m.t + 16}" font-size="11" fill="#d62728">y = ${fit.intercept.toFixed(1)} + ${fit.slope.toFixed(3)}·x, R² = ${fit.r2.toFixed(3)}</text>`);
  }
  for (const p of pts) {
    parts.push(`<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="4" fill="#1f77b4"/>`);
    parts.push(`<text x="${sx(p.x) + 6}" y="${sy(p.y) - 6}" font-size="11">${esc(p.label)}</text>`);
  }
  return parts.join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function plot(rs: Row[], ms: Fit | null, rss: Fit | null): string {
  const W = 960;
  const H = 400;
  const pw = W / 2;
  const pts = (y: (r: Row) => number) => rs.map((r) => ({ x: r.tokens, y: y(r), label: `K=${r.k}` }));
  const caption = `MOSAIC ${preset} · SCAL+MDL · batch ${batch} · ${machineStart.cpu} (${machineStart.cores} cores, load ${machineStart.loadavg[0]}) · ${startedAt.toISOString().slice(0, 10)}`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 24}" viewBox="0 0 ${W} ${H + 24}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    panel(0, 0, pw, H, pts((r) => r.stepMsMedian), ms, 'training step time vs tokens', 'tokens per sample (K + N + K·L)', 'median step ms'),
    panel(pw, 0, pw, H, pts((r) => r.peakRssMiB), rss, 'peak RSS vs tokens', 'tokens per sample (K + N + K·L)', 'peak RSS MiB (one process per K)'),
    `<text x="${W / 2}" y="${H + 14}" text-anchor="middle" font-size="11" fill="#555">${esc(caption)}</text>`,
    `</svg>`,
    '',
  ].join('\n');
}
