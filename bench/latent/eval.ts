/**
 * Reconstruction quality of the latent autoencoder on held-out identities (the test split of
 * SemAlign-Synth, K = 1..6): encode → decode every target and reference and report subject-pixel
 * PSNR (targets: label map; references: non-white pixels) and whole-image PSNR, pooled over all
 * pixels and, per K, the metrics plugin's per-sample identityPsnr / imagePsnr averaged. Writes a
 * JSON and a picture (originals above, reconstructions below). The numbers in docs/latent.md
 * come from this script.
 *
 *   node --import ./core/loader/register.mjs bench/latent/eval.ts [--weights plugins/latent/weights/ae-small.safetensors]
 *     [--preset small] [--samples 192] [--seed 1] [--json PATH] [--png PATH]
 */
import { writeFile } from 'node:fs/promises';
import { Predictor } from 'tessera/kernels';
import { blit, canvas, encodePng } from 'tessera/image';
import { machine, num, opt, round } from '../mosaic/benchArgs.ts';
import { AutoencoderModel, loadWeights, referenceMask, resolveConfig, targetMask } from '../../plugins/latent/index.ts';
import { evaluateSample } from '../../plugins/metrics/index.ts';
import { DEFAULT_CONFIG, generateSample } from '../../plugins/semalign/index.ts';

const weightsFile = opt('weights') ?? 'plugins/latent/weights/ae-small.safetensors';
const preset = opt('preset') ?? 'small';
const n = num('samples', 192, 1);
const seed = num('seed', 1, 0);
const config = resolveConfig(preset);
const model = new AutoencoderModel(config).withWeights(await loadWeights(weightsFile, config));
const { metadata } = await Predictor.paramsFromCheckpoint(weightsFile);
const samples = Array.from({ length: n }, (_, i) => generateSample({ ...DEFAULT_CONFIG, seed, kMin: 1, kMax: 6, dip: 'none' }, { split: 'test', index: i }));

const t0 = performance.now();
const targets = samples.map((s) => s.target);
const refs = samples.flatMap((s) => [...s.refs]);
const zT = await model.encode(targets);
const recT = await model.decode(zT);
const recR = await model.decode(await model.encode(refs));
const seconds = (performance.now() - t0) / 1000;

/** Pooled squared error in bytes² over mask pixels (or all) → PSNR. */
function pooled(orig: readonly { data: Uint8Array }[], rec: readonly { data: Uint8Array }[], masks: readonly Uint8Array[] | null) {
  let sse = 0;
  let cnt = 0;
  orig.forEach((im, i) => {
    for (let p = 0; p < im.data.length / 3; p++) {
      if (masks && !masks[i]![p]) continue;
      for (let c = 0; c < 3; c++) sse += (im.data[3 * p + c]! - rec[i]!.data[3 * p + c]!) ** 2;
      cnt += 3;
    }
  });
  return round(10 * Math.log10((255 * 255) / (sse / cnt)));
}

/** Per-channel mean and standard deviation of the target latents (what a diffusion model on top would normalise by). */
function channelStats(z: { shape: readonly number[]; data: Float32Array }) {
  const [N, C, h, w] = z.shape as number[];
  return Array.from({ length: C! }, (_, c) => {
    let s = 0;
    let s2 = 0;
    for (let b = 0; b < N!; b++) for (let p = 0; p < h! * w!; p++) {
      const v = z.data[(b * C! + c) * h! * w! + p]!;
      s += v;
      s2 += v * v;
    }
    const m = s / (N! * h! * w!);
    return { mean: round(m, 3), std: round(Math.sqrt(s2 / (N! * h! * w!) - m * m), 3) };
  });
}

const perSample = samples.map((s, i) => evaluateSample(s, recT[i]!));
const ks = [...new Set(samples.map((s) => s.annotation.k))].sort((a, b) => a - b);
const mean = (v: number[]) => round(v.reduce((a, b) => a + b, 0) / v.length);
/** Target subject-pixel PSNR pooled over the samples whose K passes `keep`. */
const pooledTargets = (keep: (k: number) => boolean) => {
  const idx = samples.map((s, i) => (keep(s.annotation.k) ? i : -1)).filter((i) => i >= 0);
  return pooled(idx.map((i) => targets[i]!), idx.map((i) => recT[i]!), idx.map((i) => targetMask(samples[i]!)));
};
// Per K: pooled subject pixels, and the metrics plugin's per-sample identityPsnr / imagePsnr averaged.
const perK = ks.map((k) => {
  const rows = perSample.filter((m) => m.k === k);
  return { k, samples: rows.length, subjectPsnrPooled: pooledTargets((x) => x === k), identityPsnr: mean(rows.map((m) => m.identityPsnr).filter((v): v is number => v !== null)), imagePsnr: mean(rows.map((m) => m.imagePsnr)) };
});
const result = {
  weights: weightsFile,
  preset,
  network: model.describe().replace(/ · .*$/, ''),
  trainedWith: { loss: metadata['latent.loss'] ?? 'unknown', step: metadata.step ?? 'unknown' },
  heldOut: { split: 'test', seed, samples: n, references: refs.length, kRange: [1, 6] },
  targets: { subjectPsnr: pooled(targets, recT, samples.map(targetMask)), subjectPsnrKUpTo4: pooledTargets((k) => k <= 4), imagePsnr: pooled(targets, recT, null) },
  references: { subjectPsnr: pooled(refs, recR, refs.map(referenceMask)), imagePsnr: pooled(refs, recR, null) },
  perK,
  latentChannels: channelStats({ shape: zT.shape, data: zT.data as Float32Array }),
  encodeDecodeSeconds: round(seconds),
  machine: machine(),
};
console.log(JSON.stringify(result, null, 1));
if (opt('json')) await writeFile(opt('json')!, JSON.stringify(result, null, 1) + '\n');

// Picture: 8 targets and 8 references, originals above their reconstructions, 2× scale.
const cols = 8;
const sheet = canvas(cols * 130, 272 + 68);
for (let i = 0; i < Math.min(cols, n); i++) {
  blit(sheet, targets[i]!, i * 130, 0, 2);
  blit(sheet, recT[i]!, i * 130, 130, 2);
  blit(sheet, refs[i]!, i * 130, 272, 2);
  blit(sheet, recR[i]!, i * 130 + 66, 272, 2);
}
await writeFile(opt('png') ?? 'runs/latent-eval.png', encodePng(sheet));
