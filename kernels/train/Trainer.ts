import { SeededRandom, initValues } from '../trace/init.ts';
import type { FloatDType, ParamInfo } from '../trace/Graph.ts';
import { checkFeeds, type InputSpec } from '../runtime/Kernel.ts';
import { defaultSessionCache, type Provider, type Runner, type SessionCache, type SessionOptions } from '../runtime/KernelSession.ts';
import { KernelWorker } from '../runtime/KernelWorker.ts';
import { Tensor, type TensorLike } from '../runtime/Tensor.ts';
import { STEP_NAMES, buildForwardGraph, buildStepGraph, type ModelFn, type ParamLayout, type TrainableSelector } from './buildStep.ts';
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

const FORMAT = 'tessera-kernels-checkpoint/1';

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
  private state: Record<string, Tensor> = {};
  private forward: Runner | null = null;
  private completed = 0;
  private rngCounter = 0;
  private rngSeed = 0;

  private constructor(
    private readonly fn: ModelFn,
    private readonly runner: Runner,
    readonly layout: ParamLayout,
    private readonly params: ParamInfo[],
    private readonly stateNames: string[],
    private readonly inputs: InputSpec[],
    private readonly userOutputs: string[],
    private readonly usesSeed: boolean,
    private readonly options: Required<Pick<TrainerOptions, 'dtype' | 'optimizer' | 'seed'>> & TrainerOptions,
    private readonly ownWorker: KernelWorker | null,
    private readonly worker: KernelWorker | null,
  ) {}

  static async create(fn: ModelFn, options: TrainerOptions = {}): Promise<Trainer> {
    const opts = { ...options, dtype: options.dtype ?? 'float32', optimizer: options.optimizer ?? adamw(), seed: options.seed ?? 0 };
    const built = buildStepGraph(fn, { dtype: opts.dtype, optimizer: opts.optimizer, clipGradNorm: opts.clipGradNorm, trainable: opts.trainable });
    const ownWorker = options.worker === true ? KernelWorker.start() : null;
    const worker = ownWorker ?? (options.worker instanceof KernelWorker ? options.worker : null);
    const runner = worker ? await worker.createSession(built.model, opts) : await (opts.cache ?? defaultSessionCache).get(built.model, opts);
    const inputs = [...built.graph.inputs.values()]
      .filter((s) => !s.name.startsWith('train.') && s.name !== 'seed')
      .map((s) => ({ name: s.name, shape: s.shape, dtype: s.dtype }));
    const t = new Trainer(fn, runner, built.layout, built.params, built.stateNames, inputs, built.userOutputs, built.usesSeed, opts, ownWorker, worker);
    t.initialise();
    return t;
  }

  /** The provider the step session runs on. */
  get provider(): Provider {
    return this.runner.provider;
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

  /** Runs one training step on `feeds` (the model's inputs). */
  async step(feeds: Record<string, TensorLike>, options: { outputs?: readonly string[] } = {}): Promise<StepResult> {
    checkFeeds(this.inputs, feeds, 'trainer.step');
    const want = options.outputs ?? [];
    for (const w of want) if (!this.userOutputs.includes(w)) throw new Error(`trainer.step: unknown output '${w}' (model outputs: ${this.userOutputs.join(', ') || 'none'})`);
    const dt = this.options.dtype;
    const all: Record<string, TensorLike> = {
      ...feeds,
      ...this.paramFeeds(),
      [STEP_NAMES.step]: this.state.step!,
      [STEP_NAMES.lr]: Tensor.scalar(this.lrAt(this.completed), dt),
    };
    for (const s of this.stateNames) all[STEP_NAMES.state(s)] = this.state[s]!;
    if (this.usesSeed) all.seed = this.seedTensor();
    const names = ['loss', 'finite', 'gradNorm', STEP_NAMES.next('params'), STEP_NAMES.next('step'), ...this.stateNames.map(STEP_NAMES.next), ...want];
    const out = await this.runner.run(all, names);
    this.rngCounter++;
    const finite = out.finite!.item() === 1;
    if (finite) {
      // The graph already returns the old values on a bad step; adopting only good outputs
      // additionally keeps the previous tensors untouched.
      this.state.params = out[STEP_NAMES.next('params')]!;
      this.state.step = out[STEP_NAMES.next('step')]!;
      for (const s of this.stateNames) this.state[s] = out[STEP_NAMES.next(s)]!;
      this.completed++;
    }
    const outputs: Record<string, Tensor> = {};
    for (const w of want) outputs[w] = out[w]!;
    return { loss: out.loss!.item(), finite, gradNorm: out.gradNorm!.item(), step: this.completed, outputs };
  }

  /** Runs the forward graph only (loss and model outputs) with the current parameters. */
  async evaluate(feeds: Record<string, TensorLike>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    checkFeeds(this.inputs, feeds, 'trainer.evaluate');
    if (!this.forward) {
      const { model } = buildForwardGraph(this.fn, this.options.dtype, this.layout);
      this.forward = this.worker ? await this.worker.createSession(model, this.options) : await (this.options.cache ?? defaultSessionCache).get(model, this.options);
    }
    const all: Record<string, TensorLike> = { ...feeds, ...this.paramFeeds() };
    if (this.forward.inputNames.includes('seed')) all.seed = this.seedTensor();
    return this.forward.run(all, outputs);
  }

  /** Current parameter values by name (copies). */
  getParams(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    const dt = this.options.dtype;
    const take = (buf: Tensor, s: { name: string; shape: readonly number[]; offset: number; size: number }) => {
      out[s.name] = new Tensor(dt, s.shape, buf.data.slice(s.offset, s.offset + s.size) as Float32Array);
    };
    for (const s of this.layout.trainable) take(this.state.params!, s);
    for (const s of this.layout.frozen) take(this.state.frozen!, s);
    return out;
  }

  /** Overwrites some or all parameters (e.g. copy a reference model's weights); shapes must match. */
  setParams(values: Record<string, Tensor>): void {
    type Slot = ['params' | 'frozen', ParamLayout['trainable'][number]];
    const slots = new Map<string, Slot>();
    for (const s of this.layout.trainable) slots.set(s.name, ['params', s]);
    for (const s of this.layout.frozen) slots.set(s.name, ['frozen', s]);
    const next = { params: this.state.params!.clone(), frozen: this.state.frozen?.clone() };
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

  private checkpointTensors(): Record<string, Tensor> {
    const dt = this.options.dtype;
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(this.getParams())) out[`param.${name}`] = t;
    for (const st of this.stateNames) {
      for (const s of this.layout.trainable) {
        out[`optim.${st}.${s.name}`] = new Tensor(dt, s.shape, this.state[st]!.data.slice(s.offset, s.offset + s.size) as Float32Array);
      }
    }
    return out;
  }

  /**
   * Saves params, optimizer state, step count and RNG state as a .safetensors file, written
   * atomically (temp file + rename in the same directory).
   */
  async save(path: string): Promise<void> {
    await saveSafetensors(path, this.checkpointTensors(), {
      format: FORMAT,
      optimizer: this.options.optimizer.kind,
      dtype: this.options.dtype,
      step: String(this.completed),
      seed: String(this.rngSeed),
      rngCounter: String(this.rngCounter),
    });
  }

  /** Loads a checkpoint written by `save`, after checking every name, shape and dtype. */
  async load(path: string): Promise<void> {
    const { tensors, metadata } = await loadSafetensors(path);
    const expected = this.checkpointTensors();
    const problems: string[] = [];
    if (metadata.format !== FORMAT) problems.push(`format '${metadata.format ?? 'none'}' is not '${FORMAT}'`);
    if (metadata.optimizer && metadata.optimizer !== this.options.optimizer.kind) {
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
    for (const st of this.stateNames) {
      const buf = new Tensor(dt, [this.layout.trainableSize]);
      for (const s of this.layout.trainable) (buf.data as Float64Array).set(tensors[`optim.${st}.${s.name}`]!.data as Float64Array, s.offset);
      this.state[st] = buf;
    }
    this.completed = Number(metadata.step ?? 0);
    this.rngCounter = Number(metadata.rngCounter ?? 0);
    this.rngSeed = Number(metadata.seed ?? this.rngSeed);
    this.state.step = Tensor.scalar(this.completed, dt);
  }

  /** Releases sessions (and the private worker, if any). */
  async dispose(): Promise<void> {
    if (this.worker) {
      await this.runner.release().catch(() => undefined);
      await this.forward?.release().catch(() => undefined);
    }
    await this.ownWorker?.terminate();
  }
}
