import { createHash } from 'node:crypto';
import { Rng } from 'tessera';
import { Tensor, type ModelFn } from 'tessera/kernels';
import { AUTOENCODER_KEY, autoencoderHash, buildBatch, checkAutoencoder, conditionFeeds, checkSamples, dims, latentsFor, timeFeatures, type LatentLookup, type MosaicModel } from 'tessera/mosaic';
import type { Trainable, TrainBatch, TrainingProgram } from 'tessera/train';
import { complexityMap, maskToPatches } from './complexityMap.ts';
import { dpoMetrics, dpoStepProgram, type DpoSettings } from './dpoProgram.ts';
import { REF_PREFIX } from './networkView.ts';
import type { PreferencePair } from './pairs.ts';

/** Settings of a DPO run besides the focus map (the DPOLoss node's params). */
export interface DpoRun extends DpoSettings {
  readonly beta: number;
}

const CONFIG_KEY = 'mosaic.config';
/** Hash of a latent base's encoded winners and losers (set by prepare). */

/** Logit-normal t = sigmoid(z), z ~ N(0, 1), as mosaic's training draws it. */
const logitNormal = (rng: Rng) => 1 / (1 + Math.exp(-rng.normal()));

/**
 * Trains a MOSAIC policy on preference pairs against a frozen copy of its starting weights. One
 * step graph per K (variant `k<K>`); the batch of step s depends only on (seed, s). Every
 * checkpoint carries the reference copy (the trainer's frozen buffer), so a resume is exact.
 */
export class DpoTrainingProgram implements TrainingProgram {
  readonly variants: string[];
  readonly metrics: string[];
  readonly metadata: Record<string, string>;
  readonly initial: Record<string, Tensor>;
  private readonly groups = new Map<number, number[]>();
  private readonly fns = new Map<string, ModelFn>();
  private readonly cx = new Map<string, Float32Array>();
  /**
   * Each pair's loser as a sample of its own (same condition, target = the loser), made once: the
   * latent cache is keyed by sample object, so a fresh view per batch would miss it.
   */
  private readonly losers: readonly PreferencePair[];
  private latents: LatentLookup | undefined;

  constructor(
    private readonly base: MosaicModel,
    private readonly pairs: readonly PreferencePair[],
    private readonly run: DpoRun,
  ) {
    if (!base.weights) throw new Error('focusdpo/DPOLoss: the model has no weights; DPO post-trains a trained model (load a checkpoint or train it first), whose weights become the frozen reference');
    const c = base.config;
    checkSamples(pairs, c, 'preference pairs');
    if (c.space === 'latent') checkAutoencoder(base.autoencoder, c, 'focusdpo/DPOLoss');
    this.losers = run.objective === 'dpo' ? pairs.map((p) => ({ ...p, target: p.loser })) : [];
    pairs.forEach((p, i) => {
      const k = p.refs.length;
      const list = this.groups.get(k) ?? [];
      list.push(i);
      this.groups.set(k, list);
    });
    this.variants = [...this.groups.keys()].sort((a, b) => a - b).map((k) => `k${k}`);
    this.metrics = dpoMetrics(run.objective);
    const params = base.weights.params;
    this.initial = { ...params };
    if (run.objective === 'dpo' || run.focus.correspondence) for (const [name, t] of Object.entries(params)) this.initial[REF_PREFIX + name] = t;
    this.metadata = {
      [CONFIG_KEY]: JSON.stringify(c),
      'focusdpo.settings': JSON.stringify({ objective: run.objective, subset: run.subset, beta: run.beta, focus: run.focus, mapBlocks: run.mapBlocks }),
      'focusdpo.base': base.weights.source,
      'focusdpo.data': `${pairs.length}:${createHash('sha256').update(pairs.map((p) => `${p.annotation.id}/${p.refs.length}`).join(',')).digest('hex').slice(0, 16)}`,
    };
  }

  /**
   * A latent base: encodes winners and losers (targets and references) with its autoencoder, once,
   * and records its autoencoder's weight hash, so a resume with other autoencoder weights (other data)
   * is refused.
   */
  async prepare(signal?: AbortSignal): Promise<void> {
    this.latents = await latentsFor(this.base, [...this.pairs, ...this.losers], 'focusdpo/DPOLoss', signal);
    // The latents are a function of the pairs (focusdpo.data) and the autoencoder: its weights' hash stands
    // for them, under mosaic's own key, so mosaic/Model refuses the post-trained weights with another autoencoder.
    if (this.latents) this.metadata[AUTOENCODER_KEY] = autoencoderHash(this.base.autoencoder!);
  }

  modelFn(variant: string, batchSize: number): ModelFn {
    const key = `${variant}:${batchSize}`;
    let fn = this.fns.get(key);
    if (!fn) {
      fn = dpoStepProgram(this.base.config, Number(variant.slice(1)), batchSize, this.run);
      this.fns.set(key, fn);
    }
    return fn;
  }

  batch(step: number, batchSize: number, seed: number): TrainBatch {
    const rng = new Rng(seed).fork(`focusdpo-batch:${step}`);
    const first = rng.int(this.pairs.length);
    const k = this.pairs[first]!.refs.length;
    const group = this.groups.get(k)!;
    const idx = [first];
    while (idx.length < batchSize) idx.push(group[rng.int(group.length)]!);
    const picked = idx.map((i) => this.pairs[i]!);
    const c = this.base.config;
    const { n } = dims(c);
    if (c.space === 'latent' && !this.latents) throw new Error('focusdpo/DPOLoss: a latent base model\'s pairs must be encoded first (prepare() was not called)');
    const win = buildBatch(picked, c, this.latents);
    const t = picked.map(() => logitNormal(rng));
    const feeds: TrainBatch['feeds'] = { x0w: win.x0, ...conditionFeeds(win), t: Tensor.from(t, [batchSize]), tfeat: timeFeatures(t, c.width) };
    if (this.run.objective === 'dpo') feeds.x0l = buildBatch(idx.map((i) => this.losers[i]!), c, this.latents).x0;
    Object.assign(feeds, this.focusFeeds(picked, t, n));
    if (this.run.objective === 'dpo') feeds['dpo.beta'] = Tensor.scalar(this.run.beta);
    return { variant: `k${k}`, feeds, size: batchSize, metrics: this.metrics };
  }

  /** Host-side focus inputs: prior mask and complexity per target token (tokenPixels² pixels each), the τ gate, λ and ρ. */
  focusFeeds(picked: readonly PreferencePair[], t: readonly number[], n: number): Record<string, Tensor> {
    const f = this.run.focus;
    const B = picked.length;
    const feeds: Record<string, Tensor> = {};
    // A token covers tokenPixels² image pixels (the patch, or patch × latentDown for a latent model).
    const patch = dims(this.base.config).tokenPixels;
    if (f.prior) {
      const prior = new Float32Array(B * n);
      picked.forEach((p, b) => prior.set(maskToPatches(p.dipMask, patch), b * n));
      feeds['focus.prior'] = new Tensor('float32', [B, n], prior);
    }
    if (f.complexity) {
      const cx = new Float32Array(B * n);
      picked.forEach((p, b) => {
        let m = this.cx.get(p.annotation.id);
        if (!m) this.cx.set(p.annotation.id, (m = Float32Array.from(complexityMap(p.target, { patch, sigma: f.sigma }))));
        cx.set(m, b * n);
      });
      feeds['focus.cx'] = new Tensor('float32', [B, n], cx);
      feeds['focus.gate'] = Tensor.from(t.map((v) => (v < f.tau ? 1 : 0)), [B]);
      feeds['focus.lambda'] = Tensor.scalar(f.lambda);
    }
    if (f.correspondence && this.run.mapBlocks.length) feeds['focus.rho'] = Tensor.scalar(f.rho);
    return feeds;
  }

  checkMetadata(meta: Readonly<Record<string, string>>): string[] {
    const out: string[] = [];
    for (const key of [CONFIG_KEY, 'focusdpo.settings', 'focusdpo.base', 'focusdpo.data', AUTOENCODER_KEY]) {
      if (meta[key] !== this.metadata[key]) out.push(`${key} differs: ${meta[key] ?? 'missing'} in the checkpoint, ${this.metadata[key]} in this graph`);
    }
    return out;
  }

  /** The policy's own params (the frozen reference copy dropped): what mosaic/Model loads. */
  weightsOf(params: Record<string, Tensor>): Record<string, Tensor> {
    return Object.fromEntries(Object.entries(params).filter(([name]) => !name.startsWith(REF_PREFIX)));
  }

  /** The trained policy as a plain MOSAIC handle (the reference copy is dropped). */
  withWeights(params: Record<string, Tensor>, info: { step: number; source: string }): Trainable {
    return this.base.withWeights({ params: this.weightsOf(params), source: info.source, step: info.step });
  }
}
