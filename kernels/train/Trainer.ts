import { SeededRandom, initValues } from '../trace/init.ts';
import { Graph } from '../trace/Graph.ts';
import type { FloatDType, ParamInfo } from '../trace/Graph.ts';
import { checkFeeds, type InputSpec } from '../runtime/Kernel.ts';
import { defaultSessionCache, type Provider, type Runner, type SessionCache, type SessionOptions } from '../runtime/KernelSession.ts';
import { KernelWorker } from '../runtime/KernelWorker.ts';
import { Tensor, toHostTensor, type TensorLike } from '../runtime/Tensor.ts';
import { STEP_NAMES, buildForwardGraph, buildStepGraph, type BuiltStep, type ModelFn, type ParamLayout, type TrainableSelector } from './buildStep.ts';
import { adamw, type OptimizerSpec } from './optimizers.ts';
import { loadSafetensors, saveSafetensors } from './safetensors.ts';

export interface TrainerOptions extends SessionOptions {
  /** Element type of params, state and the whole step graph. Default float32. */
  dtype?: FloatDType;
  optimizer?: OptimizerSpec;
  /** Clip the global gradient L2 norm to this value. */
  clipGradNorm?: number;
  /** Seeds parameter initialisation and the in-graph random ops. Default 0. */
  seed?: number;
  /** Overrides each param's own `trainable` flag (e.g. /lora/ for adapters only). */
  trainable?: TrainableSelector;
  /** Run the step session in a worker thread (true: a private worker; or a shared one). */
  worker?: boolean | KernelWorker;
  cache?: SessionCache;
}

export interface StepResult {
  loss: number;
  /** False when the loss or a gradient was NaN/Inf; params and optimizer state were then left unchanged. */
  finite: boolean;
  gradNorm: number;
  /** Completed (applied) steps so far. */
  step: number;
  /** Requested model outputs of this step. */
  outputs: Record<string, Tensor>;
}

/** Format tag of `save` checkpoints (params, optimizer state, counters). */
export const CHECKPOINT_FORMAT = 'tessera-kernels-checkpoint/1';
const FORMAT = CHECKPOINT_FORMAT;
/** Format tag of `saveParams` files (weights only). */
export const PARAMS_FORMAT = 'tessera-kernels-params/1';
/**
 * Writes named parameters as a weights-only file (`param.<name>` tensors, format
 * {@link PARAMS_FORMAT}), atomically: what `trainer.saveParams` writes, for weights held
 * outside a trainer (e.g. an EMA copy). Loadable by `trainer.load` and `Predictor.paramsFromCheckpoint`.
 */
export async function saveParamsFile(path: string, params: Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  const tensors: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(params)) tensors[`param.${name}`] = t;
  const dtype = Object.values(params)[0]?.dtype ?? 'float32';
  await saveSafetensors(path, tensors, { ...metadata, format: PARAMS_FORMAT, dtype });
}

/** Metadata keys the trainer writes itself; user metadata may not use them. */
export const RESERVED_METADATA_KEYS: readonly string[] = ['format', 'optimizer', 'dtype', 'step', 'seed', 'rngCounter'];

/** Key of the graph built by `Trainer.create` (also reachable as 'base'). */
const BASE = '';

/** One step graph (and its lazily built forward graph) over the trainer's shared parameter layout. */
interface Variant {
  fn: ModelFn;
  runner: Runner;
  inputs: InputSpec[];
  userOutputs: string[];
  usesSeed: boolean;
  forward: Promise<Runner> | null;
}

function userMetadata(metadata: Record<string, string> | undefined, reserved: readonly string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) {
    if (reserved.includes(k)) throw new Error(`${what}: metadata key '${k}' is reserved (reserved: ${reserved.join(', ')})`);
    if (typeof v !== 'string') throw new Error(`${what}: metadata '${k}' must be a string, got ${typeof v}`);
    out[k] = v;
  }
  return out;
}

/** First difference between two layouts (names, shapes, offsets, decay, trainable/frozen split), or null. */
function layoutDifference(a: ParamLayout, b: ParamLayout): string | null {
  const slot = (s: ParamLayout['trainable'][number] | undefined) =>
    s ? `'${s.name}' [${s.shape.join(', ')}] at offset ${s.offset}${s.decay ? '' : ' (no decay)'}` : 'nothing';
  const names = (l: ParamLayout) => [...l.trainable, ...l.frozen].map((s) => s.name);
  const inA = new Set(names(a));
  const inB = new Set(names(b));
  for (const n of names(b)) if (!inA.has(n)) return `parameter '${n}' exists only in the variant`;
  for (const n of names(a)) if (!inB.has(n)) return `parameter '${n}' is missing from the variant`;
  for (const part of ['trainable', 'frozen'] as const) {
    const n = Math.max(a[part].length, b[part].length);
    for (let i = 0; i < n; i++) {
      const x = a[part][i];
      const y = b[part][i];
      const same = x && y && x.name === y.name && x.offset === y.offset && x.decay === y.decay && x.shape.length === y.shape.length && x.shape.every((d, j) => d === y.shape[j]);
      if (!same) {
        const name = (x ?? y)!.name;
        return `parameter '${name}': ${part} slot ${i} is ${slot(x)} in the base graph, ${slot(y)} in the variant`;
      }
    }
  }
  return null;
}

/**
 * Trains a traced model with one onnxruntime session run per step: forward, loss, backward,
 * clipping and the optimizer update are a single ONNX graph; params and optimizer state are
 * flat buffers fed back from the previous step's outputs without copies.
 *
 * @example
 * const trainer = await Trainer.create((g) => {
 *   const x = g.input('x', [16, 4]); const y = g.input('y', [16, 1]);
 *   const W = g.param('W', [4, 1], { init: init.xavier() });
 *   return { loss: x.matmul(W).sub(y).square().mean() };
 * }, { optimizer: adamw({ lr: 1e-2 }), seed: 1 });
 * const { loss } = await trainer.step({ x, y });
 * await trainer.save('runs/ckpt.safetensors');
 */
export class Trainer {
  /**
   * Params, frozen params, step counter and optimizer state, as the last step returned them: ORT
   * tensors, in device memory when the step session runs on a GPU provider (`deviceOutputs`),
   * fed back unchanged. Host copies are made only to read them (getParams/readParams, save).
   */
  private state: Record<string, TensorLike> = {};
  /** Moving average of the trainable params (flat, like `state.params`), beside them; null until the first `updateEma`. */
  private ema: TensorLike | null = null;
  private emaRunner: Promise<{ runner: Runner; wide: boolean }> | null = null;
  private completed = 0;
  private rngCounter = 0;
  private rngSeed = 0;
  private readonly variantMap = new Map<string, Variant>();
  /** Variants being built (and their functions), so a concurrent second add of a key waits for the first. */
  private readonly pending = new Map<string, Promise<void>>();
  private readonly pendingFns = new Map<string, ModelFn>();

  private constructor(
    base: Variant,
    readonly layout: ParamLayout,
    private readonly params: ParamInfo[],
    private readonly stateNames: string[],
    private readonly options: Required<Pick<TrainerOptions, 'dtype' | 'optimizer' | 'seed'>> & TrainerOptions,
    private readonly ownWorker: KernelWorker | null,
    private readonly worker: KernelWorker | null,
  ) {
    this.variantMap.set(BASE, base);
  }

  static async create(fn: ModelFn, options: TrainerOptions = {}): Promise<Trainer> {
    const opts = { ...options, dtype: options.dtype ?? 'float32', optimizer: options.optimizer ?? adamw(), seed: options.seed ?? 0 };
    const built = Trainer.build(fn, opts);
    const ownWorker = options.worker === true ? KernelWorker.start() : null;
    const worker = ownWorker ?? (options.worker instanceof KernelWorker ? options.worker : null);
    let base: Variant;
    try {
      base = await Trainer.variantFrom(fn, built, opts, worker);
    } catch (error) {
      await ownWorker?.terminate();
      throw error;
    }
    const t = new Trainer(base, built.layout, built.params, built.stateNames, opts, ownWorker, worker);
    t.initialise();
    return t;
  }

  private static build(fn: ModelFn, opts: Trainer['options']): BuiltStep {
    return buildStepGraph(fn, { dtype: opts.dtype, optimizer: opts.optimizer, clipGradNorm: opts.clipGradNorm, trainable: opts.trainable });
  }

  private static async variantFrom(fn: ModelFn, built: BuiltStep, opts: Trainer['options'], worker: KernelWorker | null): Promise<Variant> {
    // The state outputs stay where the step ran (device memory on a GPU provider) for the next step.
    const deviceOutputs = [STEP_NAMES.next('params'), STEP_NAMES.next('step'), ...built.stateNames.map(STEP_NAMES.next)];
    const stepOptions = { ...opts, deviceOutputs };
    const runner = worker ? await worker.createSession(built.model, stepOptions) : await (opts.cache ?? defaultSessionCache).get(built.model, stepOptions);
    const inputs = [...built.graph.inputs.values()]
      .filter((s) => !s.name.startsWith('train.') && s.name !== 'seed')
      .map((s) => ({ name: s.name, shape: s.shape, dtype: s.dtype }));
    return { fn, runner, inputs, userOutputs: built.userOutputs, usesSeed: built.usesSeed, forward: null };
  }

  /**
   * Builds another step graph `key` from `fn` (e.g. the same model at another sequence length)
   * with this trainer's dtype, optimizer, clipping, trainable selection and session options. Its
   * parameter layout must equal the base graph's (names, shapes, offsets, decay, trainable/frozen
   * split), else this throws naming the first differing parameter. All variants share ONE set of
   * params, optimizer state, step counter and RNG counter; pick one with `step(feeds, { variant })`.
   *
   * Adding an existing key again with the same function is a no-op (nothing is traced); with a
   * different function it throws. Identical graphs share one session through the session cache.
   */
  async addVariant(key: string, fn: ModelFn): Promise<void> {
    if (typeof key !== 'string' || key === BASE || key === 'base') throw new Error(`trainer.addVariant: '${key}' is the base graph's key; pick another name`);
    const existing = this.variantMap.get(key);
    const inFlight = this.pending.get(key);
    if (existing || inFlight) {
      const sameFn = existing ? existing.fn === fn : this.pendingFns.get(key) === fn;
      if (!sameFn) throw new Error(`trainer.addVariant: variant '${key}' already exists with another model function`);
      return inFlight ?? undefined;
    }
    const job = (async () => {
      const built = Trainer.build(fn, this.options);
      const diff = layoutDifference(this.layout, built.layout);
      if (diff) throw new Error(`trainer.addVariant('${key}'): parameter layout differs from the base graph: ${diff}`);
      this.variantMap.set(key, await Trainer.variantFrom(fn, built, this.options, this.worker));
    })();
    this.pending.set(key, job);
    this.pendingFns.set(key, fn);
    try {
      await job;
    } finally {
      this.pending.delete(key);
      this.pendingFns.delete(key);
    }
  }

  /** Variant keys: '' (the base graph from `create`) first, then added ones in order. */
  get variants(): string[] {
    return [...this.variantMap.keys()];
  }

  private variant(key: string | undefined, what: string): Variant {
    const v = this.variantMap.get(key === undefined || key === 'base' ? BASE : key);
    if (!v) {
      const known = this.variants.map((k) => (k === BASE ? "'' (base)" : `'${k}'`)).join(', ');
      throw new Error(`${what}: unknown variant '${key}' (known: ${known})`);
    }
    return v;
  }

  /** The provider the (base) step session runs on. */
  get provider(): Provider {
    return this.variantMap.get(BASE)!.runner.provider;
  }

  /**
   * Where the params live between steps: 'host' for a tessera tensor (after create, setParams or
   * load), else the location of the ORT tensor the last step returned and the next one takes as
   * it is ('cpu' here, 'gpu-buffer' on a GPU provider).
   */
  get stateLocation(): string {
    const t = this.state.params!;
    return t instanceof Tensor ? 'host' : t.location;
  }

  /** Number of applied steps. */
  get stepCount(): number {
    return this.completed;
  }

  private initialise(): void {
    const dt = this.options.dtype;
    const rng = new SeededRandom(this.options.seed);
    const trainable = new Tensor(dt, [this.layout.trainableSize]);
    const frozen = new Tensor(dt, [this.layout.frozenSize]);
    const slots = new Map<string, { s: ParamLayout['trainable'][number]; buf: Tensor }>();
    for (const s of this.layout.trainable) slots.set(s.name, { s, buf: trainable });
    for (const s of this.layout.frozen) slots.set(s.name, { s, buf: frozen });
    for (const p of this.params) {
      const values = initValues(p.init, p.shape, rng);
      const { s, buf } = slots.get(p.name)!;
      (buf.data as Float64Array).set(values, s.offset);
    }
    this.state = { params: trainable, step: Tensor.scalar(0, dt) };
    if (this.layout.frozenSize > 0) this.state.frozen = frozen;
    for (const s of this.stateNames) this.state[s] = new Tensor(dt, [this.layout.trainableSize]);
    this.completed = 0;
    this.rngCounter = 0;
    this.rngSeed = this.options.seed;
  }

  private lrAt(step: number): number {
    const lr = this.options.optimizer.lr;
    return typeof lr === 'function' ? lr(step) : lr;
  }

  private seedTensor(): Tensor {
    // Fresh noise every step, reproducible from (seed, counter); the counter is checkpointed.
    return Tensor.scalar(BigInt(this.rngSeed) * 1_000_003n + BigInt(this.rngCounter), 'int64');
  }

  private paramFeeds(): Record<string, TensorLike> {
    const f: Record<string, TensorLike> = { [STEP_NAMES.params]: this.state.params! };
    if (this.state.frozen) f[STEP_NAMES.frozen] = this.state.frozen;
    return f;
  }

  /** Runs one training step on `feeds` (the model's inputs) with the base graph or `options.variant`. */
  async step(feeds: Record<string, TensorLike>, options: { variant?: string; outputs?: readonly string[] } = {}): Promise<StepResult> {
    const v = this.variant(options.variant, 'trainer.step');
    checkFeeds(v.inputs, feeds, 'trainer.step');
    const want = options.outputs ?? [];
    for (const w of want) if (!v.userOutputs.includes(w)) throw new Error(`trainer.step: unknown output '${w}' (model outputs: ${v.userOutputs.join(', ') || 'none'})`);
    const dt = this.options.dtype;
    const all: Record<string, TensorLike> = {
      ...feeds,
      ...this.paramFeeds(),
      [STEP_NAMES.step]: this.state.step!,
      [STEP_NAMES.lr]: Tensor.scalar(this.lrAt(this.completed), dt),
    };
    for (const s of this.stateNames) all[STEP_NAMES.state(s)] = this.state[s]!;
    if (v.usesSeed) all.seed = this.seedTensor();
    const names = ['loss', 'finite', 'gradNorm', STEP_NAMES.next('params'), STEP_NAMES.next('step'), ...this.stateNames.map(STEP_NAMES.next), ...want];
    // ORT's own tensors (runOrt): state outputs are fed back as they are, wherever they live.
    const out: Record<string, TensorLike> = v.runner.runOrt ? await v.runner.runOrt(all, names) : await v.runner.run(all, names);
    this.rngCounter++;
    const scalar = async (t: TensorLike) => (await toHostTensor(t)).item();
    const finite = (await scalar(out.finite!)) === 1;
    if (finite) {
      // The graph already returns the old values on a bad step; adopting only good outputs
      // additionally keeps the previous tensors untouched.
      this.state.params = out[STEP_NAMES.next('params')]!;
      this.state.step = out[STEP_NAMES.next('step')]!;
      for (const s of this.stateNames) this.state[s] = out[STEP_NAMES.next(s)]!;
      this.completed++;
    }
    const outputs: Record<string, Tensor> = {};
    for (const w of want) outputs[w] = await toHostTensor(out[w]!);
    return { loss: await scalar(out.loss!), finite, gradNorm: await scalar(out.gradNorm!), step: this.completed, outputs };
  }

  /**
   * Runs the forward graph only (loss and model outputs) with the current parameters, for the
   * base graph or `options.variant` (each variant's forward session is built on first use).
   */
  async evaluate(feeds: Record<string, TensorLike>, outputs?: readonly string[], options: { variant?: string } = {}): Promise<Record<string, Tensor>> {
    const v = this.variant(options.variant, 'trainer.evaluate');
    checkFeeds(v.inputs, feeds, 'trainer.evaluate');
    if (!v.forward) {
      const { model } = buildForwardGraph(v.fn, this.options.dtype, this.layout);
      v.forward = this.worker ? this.worker.createSession(model, this.options) : (this.options.cache ?? defaultSessionCache).get(model, this.options);
      v.forward.catch(() => (v.forward = null));
    }
    const forward = await v.forward;
    const all: Record<string, TensorLike> = { ...feeds, ...this.paramFeeds() };
    if (forward.inputNames.includes('seed')) all.seed = this.seedTensor();
    return forward.run(all, outputs);
  }

  /**
   * Current parameter values by name (copies). Synchronous, so it needs the state in host memory:
   * after steps on a GPU provider use `await readParams()` (this throws saying so).
   */
  getParams(): Record<string, Tensor> {
    return this.paramsOf(this.hostState('params', 'trainer.getParams'), this.state.frozen ? this.hostState('frozen', 'trainer.getParams') : null);
  }

  /** Current parameter values by name (copies), downloading them first if they live on the device. */
  async readParams(): Promise<Record<string, Tensor>> {
    return this.paramsOf(await toHostTensor(this.state.params!), this.state.frozen ? await toHostTensor(this.state.frozen) : null);
  }

  private paramsOf(trainable: Tensor, frozen: Tensor | null): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    const dt = this.options.dtype;
    const take = (buf: Tensor, s: { name: string; shape: readonly number[]; offset: number; size: number }) => {
      out[s.name] = new Tensor(dt, s.shape, buf.data.slice(s.offset, s.offset + s.size) as Float32Array);
    };
    for (const s of this.layout.trainable) take(trainable, s);
    for (const s of this.layout.frozen) take(frozen!, s);
    return out;
  }

  /** A state tensor as host memory without a copy, or an error naming the async alternative. */
  private hostState(name: string, what: string): Tensor {
    const t = this.state[name]!;
    if (t instanceof Tensor) return t;
    if (t.location !== 'cpu' && t.location !== 'cpu-pinned') throw new Error(`${what}: the trainer's state lives in device memory (${t.location}, provider ${this.provider}); use the async readParams()/save() instead`);
    return Tensor.fromOrt(t);
  }

  /** Brings every state tensor to host memory (after GPU steps), so the synchronous paths can edit it. */
  private async stateToHost(): Promise<void> {
    for (const [k, t] of Object.entries(this.state)) this.state[k] = await toHostTensor(t);
  }

  /** Overwrites some or all parameters (e.g. copy a reference model's weights); shapes must match. */
  setParams(values: Record<string, Tensor>): void {
    type Slot = ['params' | 'frozen', ParamLayout['trainable'][number]];
    const slots = new Map<string, Slot>();
    for (const s of this.layout.trainable) slots.set(s.name, ['params', s]);
    for (const s of this.layout.frozen) slots.set(s.name, ['frozen', s]);
    const next = { params: this.hostState('params', 'trainer.setParams').clone(), frozen: this.state.frozen ? this.hostState('frozen', 'trainer.setParams').clone() : undefined };
    for (const [name, t] of Object.entries(values)) {
      const entry = slots.get(name);
      if (!entry) throw new Error(`trainer.setParams: unknown parameter '${name}'`);
      const [buf, s] = entry;
      if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
        throw new Error(`trainer.setParams: '${name}' has shape [${t.shape.join(', ')}], expected [${s.shape.join(', ')}]`);
      }
      (next[buf]!.data as Float64Array).set(t.data as Float64Array, s.offset);
    }
    this.state.params = next.params;
    if (next.frozen) this.state.frozen = next.frozen;
  }

  private async checkpointTensors(): Promise<Record<string, Tensor>> {
    const dt = this.options.dtype;
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(await this.readParams())) out[`param.${name}`] = t;
    for (const st of this.stateNames) {
      const buf = await toHostTensor(this.state[st]!);
      for (const s of this.layout.trainable) {
        out[`optim.${st}.${s.name}`] = new Tensor(dt, s.shape, buf.data.slice(s.offset, s.offset + s.size) as Float32Array);
      }
    }
    return out;
  }

  /**
   * Saves params, optimizer state, step count and RNG state as a .safetensors file, written
   * atomically (temp file + rename in the same directory). `metadata` (string values) is stored
   * in the header next to the trainer's own keys; using a reserved key (RESERVED_METADATA_KEYS)
   * throws.
   */
  async save(path: string, metadata?: Record<string, string>): Promise<void> {
    const user = userMetadata(metadata, RESERVED_METADATA_KEYS, 'trainer.save');
    await saveSafetensors(path, await this.checkpointTensors(), {
      ...user,
      format: FORMAT,
      optimizer: this.options.optimizer.kind,
      dtype: this.options.dtype,
      step: String(this.completed),
      seed: String(this.rngSeed),
      rngCounter: String(this.rngCounter),
    });
  }

  /**
   * Writes the weights only (`param.<name>` for trainable and frozen params, format
   * 'tessera-kernels-params/1', metadata `format, dtype` plus `metadata`), atomically like `save`.
   * For small bundled checkpoints; read back with `load` or `Predictor.paramsFromCheckpoint`.
   */
  async saveParams(path: string, metadata?: Record<string, string>): Promise<void> {
    await saveParamsFile(path, await this.readParams(), userMetadata(metadata, RESERVED_METADATA_KEYS, 'trainer.saveParams'));
  }

  /**
   * Loads a checkpoint written by `save`, after checking every name, shape and dtype, and returns
   * its header metadata (the trainer's keys and the user's). A `saveParams` file is accepted too:
   * its params are loaded and the optimizer state, step count and RNG counter restart from zero
   * (as after `create`, with this trainer's seed).
   */
  async load(path: string): Promise<Record<string, string>> {
    const { tensors, metadata } = await loadSafetensors(path);
    const paramsOnly = metadata.format === PARAMS_FORMAT;
    await this.stateToHost();
    const current = await this.checkpointTensors();
    const expected = paramsOnly ? Object.fromEntries(Object.entries(current).filter(([k]) => k.startsWith('param.'))) : current;
    const problems: string[] = [];
    if (metadata.format !== FORMAT && !paramsOnly) problems.push(`format '${metadata.format ?? 'none'}' is not '${FORMAT}' or '${PARAMS_FORMAT}'`);
    if (!paramsOnly && metadata.optimizer && metadata.optimizer !== this.options.optimizer.kind) {
      problems.push(`optimizer is '${metadata.optimizer}' in the checkpoint, '${this.options.optimizer.kind}' in this trainer`);
    }
    for (const [name, t] of Object.entries(expected)) {
      const got = tensors[name];
      if (!got) {
        problems.push(`missing tensor '${name}' (${t.dtype}[${t.shape.join(', ')}])`);
        continue;
      }
      if (got.dtype !== t.dtype) problems.push(`'${name}': dtype ${got.dtype} in the checkpoint, ${t.dtype} in the model`);
      if (got.shape.length !== t.shape.length || got.shape.some((d, i) => d !== t.shape[i])) {
        problems.push(`'${name}': shape [${got.shape.join(', ')}] in the checkpoint, [${t.shape.join(', ')}] in the model`);
      }
    }
    for (const name of Object.keys(tensors)) if (!(name in expected)) problems.push(`unexpected tensor '${name}' in the checkpoint`);
    if (problems.length) throw new Error(`checkpoint ${path} does not match this model:\n  ${problems.join('\n  ')}`);

    const dt = this.options.dtype;
    const params: Record<string, Tensor> = {};
    for (const p of this.params) params[p.name] = tensors[`param.${p.name}`]!;
    this.setParams(params);
    if (paramsOnly) {
      for (const st of this.stateNames) this.state[st] = new Tensor(dt, [this.layout.trainableSize]);
      this.completed = 0;
      this.rngCounter = 0;
      this.rngSeed = this.options.seed;
      this.state.step = Tensor.scalar(0, dt);
      return { ...metadata };
    }
    for (const st of this.stateNames) {
      const buf = new Tensor(dt, [this.layout.trainableSize]);
      for (const s of this.layout.trainable) (buf.data as Float64Array).set(tensors[`optim.${st}.${s.name}`]!.data as Float64Array, s.offset);
      this.state[st] = buf;
    }
    this.completed = Number(metadata.step ?? 0);
    this.rngCounter = Number(metadata.rngCounter ?? 0);
    this.rngSeed = Number(metadata.seed ?? this.rngSeed);
    this.state.step = Tensor.scalar(this.completed, dt);
    return { ...metadata };
  }

  /**
   * Folds the current trainable params into the exponential moving average kept beside them:
   * `ema ← decay·ema + (1 − decay)·params`, the first call copies. It runs as a small ONNX graph
   * on the step session's provider, so on a GPU the average stays in device memory like the
   * params. On cpu it computes in float64 and rounds once, the same arithmetic (bit for bit) as
   * the host loop it replaces; WebGPU has no float64, so there it is float32.
   */
  async updateEma(decay: number): Promise<void> {
    if (!(decay >= 0 && decay < 1)) throw new Error(`trainer.updateEma: decay must be in [0, 1), got ${decay}`);
    if (!this.ema) {
      this.ema = this.state.params!; // step outputs are fresh tensors: holding this one is a copy
      return;
    }
    const { runner, wide } = await (this.emaRunner ??= this.emaSession());
    const scalar = (v: number) => Tensor.scalar(v, wide ? 'float64' : this.options.dtype);
    const feeds = { ema: this.ema, params: this.state.params!, decay: scalar(decay), keep: scalar(1 - decay) };
    this.ema = runner.runOrt ? (await runner.runOrt(feeds, ['next']))['next']! : (await runner.run(feeds, ['next']))['next']!;
  }

  private async emaSession(): Promise<{ runner: Runner; wide: boolean }> {
    const dt = this.options.dtype;
    const n = this.layout.trainableSize;
    // One graph per precision; which one is decided by the provider the step session got.
    const build = (wide: boolean) => {
      const g = new Graph({ dtype: dt });
      const c = wide ? 'float64' : dt;
      const e = g.input('ema', [n], dt);
      const p = g.input('params', [n], dt);
      const d = g.input('decay', [], c);
      const k = g.input('keep', [], c);
      const up = (x: typeof e) => (c === dt ? x : x.cast(c));
      const next = up(e).mul(d).add(up(p).mul(k));
      return g.toModel({ next: c === dt ? next : next.cast(dt) });
    };
    const options = { ...this.options, provider: this.provider, deviceOutputs: ['next'] };
    const open = (model: ReturnType<typeof build>) => (this.worker ? this.worker.createSession(model, options) : (this.options.cache ?? defaultSessionCache).get(model, options));
    const wide = this.provider === 'cpu';
    return { runner: await open(build(wide)), wide };
  }

  /** Whether `updateEma` has run (or `setEma` restored one). */
  get hasEma(): boolean {
    return this.ema !== null;
  }

  /** The moving average by parameter name (frozen params as they are), or null before `updateEma`. */
  async readEma(): Promise<Record<string, Tensor> | null> {
    if (!this.ema) return null;
    return this.paramsOf(await toHostTensor(this.ema), this.state.frozen ? await toHostTensor(this.state.frozen) : null);
  }

  /** Restores the moving average (e.g. from a checkpoint's EMA file); trainable names and shapes must match. */
  setEma(values: Record<string, Tensor>): void {
    const flat = new Tensor(this.options.dtype, [this.layout.trainableSize]);
    for (const s of this.layout.trainable) {
      const t = values[s.name];
      if (!t) throw new Error(`trainer.setEma: missing parameter '${s.name}'`);
      if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) throw new Error(`trainer.setEma: '${s.name}' has shape [${t.shape.join(', ')}], expected [${s.shape.join(', ')}]`);
      (flat.data as Float64Array).set(t.data as Float64Array, s.offset);
    }
    this.ema = flat;
  }

  /**
   * Releases the sessions of every variant (worker sessions; in-process sessions belong to the
   * session cache) and the private worker, if any.
   */
  async dispose(): Promise<void> {
    await Promise.allSettled([...this.pending.values()]);
    if (this.worker) {
      await (await this.emaRunner?.catch(() => null))?.runner.release().catch(() => undefined);
      for (const v of this.variantMap.values()) {
        await v.runner.release().catch(() => undefined);
        const f = await v.forward?.catch(() => null);
        await f?.release().catch(() => undefined);
      }
    }
    await this.ownWorker?.terminate();
  }
}
