/**
 * Benchmark (not a test): the MOSAIC `small` training step in tessera (the Trainer step a real run
 * takes) vs its PyTorch twin (twin_step.py, eager, OpenBLAS), at several K, same weights, batch,
 * threads, float32, in short alternating bursts; medians and paired per-burst ratios.
 *
 *   bash bench/mosaic/twin.sh [--no-check] [options]      (installs torch + OpenBLAS if missing)
 *   node --import ./core/loader/register.mjs bench/mosaic/twinBench.ts [options]
 *
 *   --ks 2,4,6       K values (one tessera Trainer and one PyTorch process per K, one K at a time)
 *   --batch 4        samples per step (train.bench.ts's default)
 *   --cycles 8       alternations per K; each runs --per steps on each side
 *   --per 4          steps per side per alternation
 *   --warmup 3       untimed tessera steps first (ORT's arena)
 *   --torch-warmup 10   untimed PyTorch steps first (its allocator and OpenMP pool settle; the first ~10 are slow)
 *   --threads 2      intra-op threads on both sides
 *   --spin on|off    ORT pool spinning (default: the session default, what a single-K run gets)
 *   --weights bundled|init   initial weights (values do not change the cost; default bundled)
 *   --json PATH      write the results
 *
 * Default run: 3 K × (8 × 4 timed + warm-up) steps per side, about 3 minutes on a quiet 2-core machine
 * (estimated from train.bench.ts's quiet step times; not yet run quiet). Load
 * from other processes hits PyTorch's OpenMP pool far harder than ORT's, so ratios measured under
 * load overstate tessera: compare runs only at a load average well under the core count.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Trainer } from '../../kernels/index.ts';
import { writeFileAtomic } from '../../core/util/writeFileAtomic.ts';
import { tokenLayout } from '../../plugins/mosaic/model/mosaicNetwork.ts';
import { machine, median, num, opt, round } from './benchArgs.ts';
import { trainerOptions, twinCase, writeTwinCase } from './twinCase.ts';
import { cpuFlags } from '../kernels/torchServer.ts';
import { startTwinServer } from './twinTorch.ts';

const ksArg = opt('ks') ?? '2,4,6';
const ks = ksArg.split(',').map((s) => Number(s.trim()));
if (ks.some((k) => !Number.isInteger(k) || k < 1 || k > 8)) throw new RangeError(`--ks must be a comma list of integers in 1…8, got '${ksArg}'`);
const batch = num('batch', 4, 1);
const cycles = num('cycles', 8, 1);
const per = num('per', 4, 1);
const warmup = num('warmup', 3, 0);
const torchWarmup = num('torch-warmup', 10, 0);
const threads = num('threads', 2, 1);
const spinArg = opt('spin');
if (spinArg !== undefined && spinArg !== 'on' && spinArg !== 'off') throw new RangeError(`--spin must be 'on' or 'off', got '${spinArg}'`);
const weights = opt('weights') ?? 'bundled';
if (weights !== 'bundled' && weights !== 'init') throw new RangeError(`--weights must be 'bundled' or 'init', got '${weights}'`);
const jsonPath = opt('json');

const KEY_FLAGS = ['avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'amx_tile'];
const flags = new Set(cpuFlags().split(/\s+/));
const start = machine();
const startedAt = new Date();
console.log(`MOSAIC small training step: tessera vs PyTorch twin; batch ${batch}, K ${ks.join(', ')}, ${cycles} × ${per} steps per side per K after ${warmup} (tessera) / ${torchWarmup} (PyTorch) warm-up, ${threads} threads, spin ${spinArg ?? 'session default'}`);
console.log(`machine: ${start.cpu}, ${start.cores} cores, flags ${KEY_FLAGS.filter((f) => flags.has(f)).join(' ') || 'none of ' + KEY_FLAGS.join('/')}; load average ${start.loadavg.join(' ')}; ${startedAt.toISOString()}; node ${process.version}`);
if (start.loadavg[0]! > start.cores * 0.5) console.log(`WARNING: load average ${start.loadavg[0]} on ${start.cores} cores: PyTorch's OpenMP pool degrades under load far more than ORT; these ratios are not comparable to quiet runs.`);

interface Row {
  k: number;
  tokens: number;
  tesseraMs: number;
  torchMs: number;
  ratio: number;
  pairedRatio: number;
  pairedMin: number;
  pairedMax: number;
  steps: number;
  loadavg: number;
}
const rows: Row[] = [];
let torchInfo: { core: string; threads: number; torch: string } | null = null;

for (const k of ks) {
  const c = await twinCase({ k, batch, weights });
  const dir = mkdtempSync(join(tmpdir(), `mosaic-twin-k${k}-`));
  try {
    await writeTwinCase(c, dir, 0);
    const trainer = await Trainer.create(c.fn, trainerOptions(c.seed, { threads, ...(spinArg ? { spin: spinArg === 'on' } : {}) }));
    const torch = await startTwinServer(dir, threads, torchWarmup);
    torchInfo = torch.info;
    try {
      trainer.setParams(c.params);
      for (let i = 0; i < warmup; i++) await trainer.step(c.feeds);
      const ours: number[] = [];
      const theirs: number[] = [];
      const paired: number[] = [];
      for (let cycle = 0; cycle < cycles; cycle++) {
        const runOurs = async () => {
          const t: number[] = [];
          for (let i = 0; i < per; i++) {
            const t0 = performance.now();
            await trainer.step(c.feeds);
            t.push(performance.now() - t0);
          }
          return t;
        };
        // Alternate which side goes first, so neither always follows the other's cache state.
        let ro: number[];
        let rt: number[];
        if (cycle % 2 === 0) {
          ro = await runOurs();
          rt = await torch.run(per);
        } else {
          rt = await torch.run(per);
          ro = await runOurs();
        }
        ours.push(...ro);
        theirs.push(...rt);
        paired.push(median(rt) / median(ro));
      }
      const row: Row = {
        k,
        tokens: tokenLayout(c.config, k).total,
        tesseraMs: round(median(ours), 1),
        torchMs: round(median(theirs), 1),
        ratio: round(median(theirs) / median(ours), 3),
        pairedRatio: round(median(paired), 3),
        pairedMin: round(Math.min(...paired), 3),
        pairedMax: round(Math.max(...paired), 3),
        steps: ours.length,
        loadavg: round(loadavg()[0]!, 2),
      };
      rows.push(row);
      console.error(`  K=${k}: tessera ${row.tesseraMs} ms, PyTorch ${row.torchMs} ms, paired ${row.pairedRatio}× (load ${row.loadavg})`);
    } finally {
      torch.quit();
      await trainer.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const pad = (s: string | number, w: number) => String(s).padStart(w);
console.log(`\nPyTorch ${torchInfo?.torch} (${torchInfo?.threads} threads, OpenBLAS core ${torchInfo?.core}) vs tessera (onnxruntime-node, ${threads} threads), per-step medians over ${cycles * per} steps per side:`);
console.log(`${pad('K', 2)} ${pad('tokens', 6)} ${pad('tessera ms', 10)} ${pad('PyTorch ms', 10)} ${pad('ratio', 6)} ${pad('paired (min–max)', 20)} ${pad('load', 5)}`);
for (const r of rows) console.log(`${pad(r.k, 2)} ${pad(r.tokens, 6)} ${pad(r.tesseraMs.toFixed(1), 10)} ${pad(r.torchMs.toFixed(1), 10)} ${pad(r.ratio.toFixed(2) + '×', 6)} ${pad(`${r.pairedRatio.toFixed(2)}× (${r.pairedMin.toFixed(2)}–${r.pairedMax.toFixed(2)})`, 20)} ${pad(r.loadavg.toFixed(2), 5)}`);
const end = machine();
console.log(`load average at the end: ${end.loadavg.join(' ')}`);
if (jsonPath) {
  const result = {
    bench: 'mosaic-twin',
    date: startedAt.toISOString(),
    machine: { ...start, flags: KEY_FLAGS.filter((f) => flags.has(f)), loadavgEnd: end.loadavg },
    node: process.version,
    torch: torchInfo,
    step: 'MOSAIC small: diffusion + 0.4·SCAL(reference) + 0.6·MDL(points, jsd), taps all blocks, AdamW lr 1e-4 wd 0.01, clip 1, float32',
    options: { ks, batch, cycles, per, warmup, torchWarmup, threads, spin: spinArg ?? 'default', weights },
    runs: rows,
  };
  await writeFileAtomic(jsonPath, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${jsonPath}`);
}
