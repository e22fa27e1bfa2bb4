// Device probe: which onnxruntime-node providers work on a GPU machine, and do they agree with cpu?
import ort from 'onnxruntime-node';
import { readFileSync, writeFileSync } from 'node:fs';
const dir = new URL('.', import.meta.url).pathname;
const out = { backends: ort.listSupportedBackends?.(), results: {} };
const log = (k, v) => { out.results[k] = v; console.log(k, JSON.stringify(v)); };
const fill = (n, k) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.5);
const T = (d, dims) => new ort.Tensor('float32', d, dims);
const opts = (p, threads = 2) => ({ executionProviders: [p], intraOpNumThreads: threads, executionMode: 'sequential', graphOptimizationLevel: 'all', logSeverityLevel: 3 });
const med = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
async function timeIt(s, feeds, names, n) { const t = []; for (let i = 0; i < n; i++) { const t0 = performance.now(); await s.run(feeds, names); t.push(performance.now() - t0); } return med(t); }
const small = readFileSync(dir + 'small.onnx');
const smallFeeds = { x: T(fill(512, 0.3), [8, 64]), w: T(fill(4096, 0.7).map((v) => v * 0.2), [64, 64]), gam: T(new Float32Array(64).fill(1), [64]) };
const ref = (await (await ort.InferenceSession.create(small, opts('cpu'))).run(smallFeeds)).h.data;
for (const p of ['webgpu', 'cuda']) {
  try {
    const t0 = performance.now();
    const s = await ort.InferenceSession.create(small, opts(p));
    const created = performance.now() - t0;
    const r = (await s.run(smallFeeds)).h.data;
    log(`small.${p}`, { ok: true, createMs: +created.toFixed(0), maxAbsErrVsCpu: Math.max(...r.map((v, i) => Math.abs(v - ref[i]))) });
  } catch (e) { log(`small.${p}`, { ok: false, error: String(e.message).split('\n')[0].slice(0, 300) }); }
}
const mm = readFileSync(dir + 'matmul.onnx');
const mf = { a: T(fill(1 << 20, 0.1), [1024, 1024]), b: T(fill(1 << 20, 0.2), [1024, 1024]) };
for (const [p, th] of [['cpu', 2], ['cpu', 16], ['webgpu', 2]]) {
  try {
    const s = await ort.InferenceSession.create(mm, opts(p, th));
    await timeIt(s, mf, ['c'], 3);
    const ms = await timeIt(s, mf, ['c'], 20);
    log(`matmul1024.${p}.${th}t`, { ms: +ms.toFixed(2), gflops: +((2 * 1024 ** 3) / ms / 1e6).toFixed(1) });
  } catch (e) { log(`matmul1024.${p}.${th}t`, { ok: false, error: String(e.message).split('\n')[0].slice(0, 300) }); }
}
const step = readFileSync(dir + 'step.onnx');
const { n } = JSON.parse(readFileSync(dir + 'step.json', 'utf8'));
const base = () => ({ x: T(fill(4 * 512 * 128, 0.013), [4, 512, 128]), y: T(fill(4 * 512 * 128, 0.029), [4, 512, 128]), 'train.params': T(fill(n, 0.7).map((v) => v * 0.1), [n]), 'train.m': T(new Float32Array(n), [n]), 'train.v': T(new Float32Array(n), [n]), 'train.step': T(new Float32Array([0]), []), 'train.lr': T(new Float32Array([1e-3]), []) });
const names = ['loss', 'next.params', 'next.m', 'next.v', 'next.step'];
for (const [p, th] of [['cpu', 2], ['cpu', 16], ['webgpu', 2]]) {
  try {
    const t0 = performance.now();
    const s = await ort.InferenceSession.create(step, opts(p, th));
    const created = performance.now() - t0;
    let f = base();
    const losses = [];
    const times = [];
    for (let i = 0; i < 25; i++) {
      const t1 = performance.now();
      const r = await s.run(f, names);
      times.push(performance.now() - t1);
      losses.push(r.loss.data[0]);
      f = { ...f, 'train.params': r['next.params'], 'train.m': r['next.m'], 'train.v': r['next.v'], 'train.step': r['next.step'] };
    }
    log(`step.${p}.${th}t`, { createMs: +created.toFixed(0), medianStepMs: +med(times.slice(5)).toFixed(2), losses: losses.slice(0, 4).concat(losses.slice(-1)) });
  } catch (e) { log(`step.${p}.${th}t`, { ok: false, error: String(e.message).split('\n')[0].slice(0, 300) }); }
}
if (process.env.OUT) writeFileSync(process.env.OUT + '/probe.json', JSON.stringify(out, null, 1));
