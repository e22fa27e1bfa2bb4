import {
  DEFAULT_IR_VERSION,
  DEFAULT_OPSET,
  type DType,
  type OnnxAttribute,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
} from '../onnx/OnnxModel.ts';
import { Tensor, allocateTyped } from '../runtime/Tensor.ts';
import type { OpKind } from './opKinds.ts';
import { Sym, type OpRecord } from './Sym.ts';
import { TraceError, callerLocation } from './TraceError.ts';
import type { Init } from './init.ts';

declare module './Sym.ts' {
  /** A Sym's `graph` is this module's `Graph` (see `SymGraph` in Sym.ts for why it is merged here). */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging, no members of its own
  interface SymGraph extends Graph {}
}

/** Float element types a traced program can be written in. */
export type FloatDType = 'float32' | 'float64';

/** Attribute values accepted by `Graph.node`: plain numbers are ints; wrap floats as `{ f }`. */
export type AttrInput = number | number[] | string | string[] | { f: number } | { floats: number[] } | { tensor: OnnxTensor };

export interface ParamInfo {
  name: string;
  sym: Sym;
  shape: readonly number[];
  init: Init;
  /** Updated by the optimizer (false: frozen, e.g. a DPO reference model). */
  trainable: boolean;
  /** Decoupled weight decay applies (AdamW) / L2 term applies (SGD). */
  decay: boolean;
}

export interface ParamOptions {
  init?: Init;
  trainable?: boolean;
  decay?: boolean;
}

function toAttribute(name: string, v: AttrInput): OnnxAttribute {
  if (typeof v === 'number') return { name, type: 'int', value: v };
  if (typeof v === 'string') return { name, type: 'string', value: v };
  if (Array.isArray(v)) {
    return v.length > 0 && typeof v[0] === 'string' ? { name, type: 'strings', value: v as string[] } : { name, type: 'ints', value: v as number[] };
  }
  if ('f' in v) return { name, type: 'float', value: v.f };
  if ('floats' in v) return { name, type: 'floats', value: v.floats };
  return { name, type: 'tensor', value: v.tensor };
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_./:-]*$/;

/**
 * A tensor program being traced: inputs, parameters, constants and the ops applied to them.
 * Every op checks shapes and dtypes as it is called, so mistakes surface as a `TraceError`
 * at the caller's line, not inside onnxruntime. `toModel` turns the trace into ONNX.
 *
 * @example
 * const g = new Graph();                        // float32; new Graph({ dtype: 'float64' }) for FD checks
 * const x = g.input('x', [8, 3]);
 * const W = g.param('W', [3, 2], { init: init.normal(0.1) });
 * const y = x.matmul(W).relu();
 * const model = g.toModel({ y });
 */
export class Graph {
  readonly dtype: FloatDType;
  readonly name: string;
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  readonly inputs = new Map<string, Sym>();
  readonly params = new Map<string, ParamInfo>();
  readonly tape: OpRecord[] = [];
  private internalDepth = 0;
  private counter = 0;
  private readonly constCache = new Map<string, Sym>();
  private seedSym: Sym | null = null;
  private randomStreams = 0;

  constructor(options: { dtype?: FloatDType; name?: string } = {}) {
    this.dtype = options.dtype ?? 'float32';
    this.name = options.name ?? 'tessera';
  }

  /** A fresh unique tensor name. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  private declare(opName: string, name: string, shape: readonly number[]): void {
    if (!NAME_RE.test(name)) throw new TraceError(opName, `invalid tensor name '${name}'`);
    if (this.inputs.has(name) || this.params.has(name)) throw new TraceError(opName, `name '${name}' is already declared`);
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new TraceError(opName, `'${name}' has invalid shape [${shape.join(', ')}]`);
    }
  }

  /** A graph input fed at run time. */
  input(name: string, shape: readonly number[], dtype: DType = this.dtype): Sym {
    this.declare('input', name, shape);
    const s = new Sym(this, name, shape, dtype);
    this.inputs.set(name, s);
    return s;
  }

  /** A named parameter (a graph input that trainers feed and update). */
  param(name: string, shape: readonly number[], options: ParamOptions = {}): Sym {
    this.declare('param', name, shape);
    const s = new Sym(this, name, shape, this.dtype);
    this.params.set(name, {
      name,
      sym: s,
      shape: [...shape],
      init: options.init ?? { kind: 'normal', std: 0.02 },
      trainable: options.trainable ?? true,
      decay: options.decay ?? true,
    });
    return s;
  }

  /** The int64 scalar 'seed' input that drives in-graph random ops (created on first use). */
  seed(): Sym {
    if (!this.seedSym) {
      this.seedSym = new Sym(this, 'seed', [], 'int64');
      this.inputs.set('seed', this.seedSym);
    }
    return this.seedSym;
  }

  /** A distinct stream number per random op, so two noise tensors in one step differ. */
  nextRandomStream(): number {
    return ++this.randomStreams;
  }

  /** A constant (initializer). Numbers use the graph's float dtype unless `dtype` says otherwise. */
  constant(value: Tensor | number | readonly number[], dtype?: DType): Sym {
    let t: Tensor;
    if (value instanceof Tensor) t = value;
    else if (typeof value === 'number') t = Tensor.scalar(value, dtype ?? this.dtype);
    else t = Tensor.from(value as number[], [value.length], dtype ?? this.dtype);
    const small = t.size <= 16;
    const key = small ? `${t.dtype}|${t.shape.join(',')}|${t.toArray().join(',')}` : '';
    if (small && this.constCache.has(key)) return this.constCache.get(key)!;
    const name = this.fresh('const');
    this.initializers.push({ name, dtype: t.dtype, dims: [...t.shape], data: t.data });
    const s = new Sym(this, name, t.shape, t.dtype);
    if (small) this.constCache.set(key, s);
    return s;
  }

  /** An int64 1-D constant (shapes, axes, indices). */
  ints(values: readonly number[]): Sym {
    const data = allocateTyped('int64', values.length);
    values.forEach((v, i) => (data[i] = BigInt(v)));
    return this.constant(new Tensor('int64', [values.length], data));
  }

  /**
   * Emits one raw ONNX node whose outputs have the given (already checked) shapes and dtypes.
   * Ops call this; it records nothing for autodiff (see `record`).
   */
  node(
    opType: string,
    inputs: (Sym | string)[],
    attrs: Record<string, AttrInput | undefined>,
    outputs: { shape: readonly number[]; dtype: DType }[],
    domain?: string,
  ): Sym[] {
    const outs = outputs.map((o) => new Sym(this, this.fresh(opType), o.shape, o.dtype));
    const attributes: OnnxAttribute[] = [];
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) attributes.push(toAttribute(k, v));
    this.nodes.push({
      opType,
      inputs: inputs.map((i) => (typeof i === 'string' ? i : i.name)),
      outputs: outs.map((o) => o.name),
      name: `${opType}_${this.nodes.length}`,
      domain,
      attributes,
    });
    return outs;
  }

  /** Records a traced op for autodiff unless we are inside a composite op's lowering. */
  record(op: OpKind, inputs: Sym[], outputs: Sym[], attrs: Record<string, unknown> = {}): OpRecord {
    const rec: OpRecord = { op, inputs, outputs, attrs, location: this.internalDepth === 0 ? callerLocation() : '' };
    if (this.internalDepth === 0) {
      this.tape.push(rec);
      for (const o of outputs) o.producer = rec;
    }
    return rec;
  }

  /**
   * Runs `fn` as the lowering of one composite op: ops traced inside are emitted but not taped,
   * so autodiff uses the composite's own VJP rule instead of differentiating its pieces.
   */
  internal<T>(fn: () => T): T {
    this.internalDepth++;
    try {
      return fn();
    } finally {
      this.internalDepth--;
    }
  }

  /** Declared param names in declaration order. */
  paramNames(): string[] {
    return [...this.params.keys()];
  }

  /**
   * The ONNX model computing `outputs` (graph output name → tensor). Nodes and initializers not
   * needed for those outputs are dropped; all declared inputs and params stay graph inputs
   * unless listed in `omitInputs`.
   */
  toModel(outputs: Record<string, Sym>, options: { omitInputs?: Iterable<string>; prefixNodes?: OnnxNode[]; opset?: number } = {}): OnnxModel {
    const omit = new Set(options.omitInputs ?? []);
    const nodes: OnnxNode[] = [...(options.prefixNodes ?? []), ...this.nodes];
    const outNodes: OnnxNode[] = [];
    const outputNames = new Set<string>();
    const valueOutputs = [];
    for (const [name, s] of Object.entries(outputs)) {
      if (!(s instanceof Sym) || s.graph !== this) throw new TraceError('toModel', `output '${name}' is not a tensor of this graph`);
      if (outputNames.has(name)) throw new TraceError('toModel', `duplicate output '${name}'`);
      outputNames.add(name);
      // Identity gives each output a stable public name independent of internal naming.
      outNodes.push({ opType: 'Identity', inputs: [s.name], outputs: [name], name: `out_${name}`, attributes: [] });
      valueOutputs.push({ name, dtype: s.dtype, shape: [...s.shape] });
    }
    const all = [...nodes, ...outNodes];
    const needed = new Set<string>(outNodes.flatMap((n) => n.inputs));
    const keep: boolean[] = new Array(all.length).fill(false);
    for (let i = all.length - 1; i >= 0; i--) {
      const n = all[i]!;
      if (i >= nodes.length || n.outputs.some((o) => needed.has(o))) {
        keep[i] = true;
        for (const inp of n.inputs) if (inp) needed.add(inp);
      }
    }
    const graphInputs = [];
    for (const s of this.inputs.values()) if (!omit.has(s.name)) graphInputs.push({ name: s.name, dtype: s.dtype, shape: [...s.shape] });
    for (const p of this.params.values()) if (!omit.has(p.name)) graphInputs.push({ name: p.name, dtype: p.sym.dtype, shape: [...p.shape] });
    return {
      irVersion: DEFAULT_IR_VERSION,
      producerName: 'tessera-kernels',
      opsetImports: [{ domain: '', version: options.opset ?? DEFAULT_OPSET }],
      graph: {
        name: this.name,
        nodes: all.filter((_, i) => keep[i]),
        inputs: graphInputs,
        outputs: valueOutputs,
        initializers: this.initializers.filter((t) => needed.has(t.name)),
        valueInfo: [],
      },
    };
  }
}
