// SemAlign-Synth generation throughput (a benchmark, not a test).
//
//   node --import tsx bench/semalign/generate.bench.ts [--count 2000] [--workers 2] [--k 4] [--size 64] [--dir PATH]
//
// --dir picks where the to-disk run writes (default: /dev/shm when it exists, else the temp
// folder). On this project's VM, creating a file on the ext4 disk costs ~0.45 ms of CPU (9 files
// per sample ≈ 4 ms, as much as generating the sample), on tmpfs ~25 µs; so the disk and the
// generator are measured apart: run once with the default and once with --dir /tmp.
//
// Prints samples/s for (1) in-memory generation on one thread (rendering, correspondences,
// DIP pair; no encoding), (2) the same plus PNG/JSON encoding, and (3) end-to-end generation to
// disk with the worker pool (files + manifest, worker start-up included), plus the load average
// so a reader can tell a busy machine from a slow generator. On a shared machine wall-clock rates
// depend on the neighbours, so the to-disk run also reports samples per CPU-second of the whole
// process (all worker threads included): `cores × that` is the rate the same work reaches when
// the cores are free.
import { existsSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSample } from '../../plugins/semalign/dataset.ts';
import { generateToDisk } from '../../plugins/semalign/generate.ts';
import { DEFAULT_CONFIG, generateSample } from '../../plugins/semalign/sample.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const count = arg('count', 2000);
const workers = arg('workers', 2);
const k = arg('k', 4);
const size = arg('size', 64);
const config = { ...DEFAULT_CONFIG, kMin: k, kMax: k, targetSize: size, refSize: size / 2 };

// Warm-up, so the JIT has compiled the renderer before timing.
for (let i = 0; i < 50; i++) generateSample(config, { split: 'train', index: 1_000_000 + i });

const oneThread = Math.min(count, 500);
let t0 = performance.now();
for (let i = 0; i < oneThread; i++) generateSample(config, { split: 'train', index: i });
const memRate = oneThread / ((performance.now() - t0) / 1000);

t0 = performance.now();
for (let i = 0; i < oneThread; i++) encodeSample(generateSample(config, { split: 'train', index: i }));
const encRate = oneThread / ((performance.now() - t0) / 1000);

const dirArg = process.argv.indexOf('--dir');
const base = dirArg > 0 ? process.argv[dirArg + 1]! : existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const dir = join(base, `semalign-bench-${process.pid}`);
rmSync(dir, { recursive: true, force: true });
let first = 0;
let firstDone = 0;
t0 = performance.now();
const cpu0 = process.cpuUsage();
await generateToDisk(dir, config, { train: count }, {
  workers,
  onProgress: (done) => {
    if (!first) [first, firstDone] = [performance.now() - t0, done];
  },
});
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
rmSync(dir, { recursive: true, force: true });

const result = {
  size,
  k,
  count,
  workers,
  dir: base,
  cores: availableParallelism(),
  loadavg1: +loadavg()[0]!.toFixed(2),
  inMemory1Thread: Math.round(memRate),
  encoded1Thread: Math.round(encRate),
  toDisk: Math.round(count / wall),
  toDiskSeconds: +wall.toFixed(2),
  toDiskPerCpuSecond: Math.round(count / cpuSeconds),
  toDiskIfCoresFree: Math.round((count / cpuSeconds) * Math.min(workers || 1, availableParallelism())),
  firstChunkSeconds: +(first / 1000).toFixed(2),
  // After the first chunk is back: workers are up and the JIT is warm.
  toDiskSteadyState: Math.round((count - firstDone) / (wall - first / 1000)),
};
console.log(`in memory, 1 thread:        ${result.inMemory1Thread} samples/s`);
console.log(`+ PNG/JSON encoding, 1 thr: ${result.encoded1Thread} samples/s`);
console.log(`to ${base}, ${workers} workers:  ${result.toDisk} samples/s (${count} samples in ${result.toDiskSeconds} s, first chunk after ${result.firstChunkSeconds} s)`);
console.log(`  steady state:             ${result.toDiskSteadyState} samples/s (after the first chunk)`);
console.log(`  per CPU-second:           ${result.toDiskPerCpuSecond} samples (→ ${result.toDiskIfCoresFree} samples/s with ${Math.min(workers || 1, availableParallelism())} free cores); load average ${result.loadavg1}`);
console.log(JSON.stringify(result));
