import type { DType } from '../onnx/OnnxModel.ts';
import type { OpKind } from './opKinds.ts';

/** A tensor or a plain number (lifted to a constant of the tensor's dtype). */
export type Operand = Sym | number;

/**
 * The graph a tensor belongs to. Graph.ts merges its `Graph` class into this interface
 * (`declare module './Sym.ts'`), so `sym.graph` is a full `Graph` while this file imports neither
 * Graph.ts nor ops.ts: Graph creates Syms, Syms point back at their Graph, and the module graph
 * stays acyclic.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by Graph.ts (declaration merging)
export interface SymGraph {}

/** One traced op as autodiff sees it (a composite op may have emitted several ONNX nodes). */
export interface OpRecord {
  op: OpKind;
  inputs: Sym[];
  outputs: Sym[];
  attrs: Record<string, unknown>;
  location: string;
}

/** The ops behind Sym's method shorthands; ops.ts binds them when it loads ({@link bindSymOps}). */
export interface SymOps {
  add(a: Operand, b: Operand): Sym;
  sub(a: Operand, b: Operand): Sym;
  mul(a: Operand, b: Operand): Sym;
  div(a: Operand, b: Operand): Sym;
  pow(a: Operand, b: Operand): Sym;
  neg(x: Sym): Sym;
  abs(x: Sym): Sym;
  exp(x: Sym): Sym;
  log(x: Sym): Sym;
  sqrt(x: Sym): Sym;
  rsqrt(x: Sym): Sym;
  square(x: Sym): Sym;
  tanh(x: Sym): Sym;
  sigmoid(x: Sym): Sym;
  relu(x: Sym): Sym;
  gelu(x: Sym): Sym;
  silu(x: Sym): Sym;
  matmul(a: Sym, b: Sym): Sym;
  sum(x: Sym, axes?: number | readonly number[], keepdims?: boolean): Sym;
  mean(x: Sym, axes?: number | readonly number[], keepdims?: boolean): Sym;
  max(x: Sym, axes?: number | readonly number[], keepdims?: boolean): Sym;
  softmax(x: Sym, axis?: number): Sym;
  logSoftmax(x: Sym, axis?: number): Sym;
  reshape(x: Sym, shape: readonly number[]): Sym;
  transpose(x: Sym, perm?: readonly number[]): Sym;
  cast(x: Sym, dtype: DType): Sym;
  clip(x: Sym, min?: number, max?: number): Sym;
}

let bound: SymOps | null = null;

/** Called once by ops.ts: Sym's methods delegate to these functions (injected, so no import cycle). */
export function bindSymOps(ops: SymOps): void {
  bound = ops;
}

function ops(): SymOps {
  // Unreachable through 'tessera/kernels', whose index loads ops.ts; guards a deep import of Sym.ts alone.
  if (!bound) throw new Error("kernels: tensor ops are not loaded; import from 'tessera/kernels'");
  return bound;
}

/**
 * A symbolic tensor inside a `Graph`: a name, a static shape and a dtype. Methods are shorthands
 * for the functions in `ops` (`x.matmul(w)` is `ops.matmul(x, w)`).
 *
 * @example
 * const h = x.matmul(W1).add(b1).gelu();
 * const loss = h.sub(y).square().mean();
 */
export class Sym {
  /** The taped op that produced this tensor (none for inputs, params and constants). */
  producer?: OpRecord;

  constructor(
    readonly graph: SymGraph,
    readonly name: string,
    readonly shape: readonly number[],
    readonly dtype: DType,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  toString(): string {
    return `'${this.name}' ${this.dtype}[${this.shape.join(', ')}]`;
  }

  add(o: Operand): Sym {
    return ops().add(this, o);
  }
  sub(o: Operand): Sym {
    return ops().sub(this, o);
  }
  mul(o: Operand): Sym {
    return ops().mul(this, o);
  }
  div(o: Operand): Sym {
    return ops().div(this, o);
  }
  pow(o: Operand): Sym {
    return ops().pow(this, o);
  }
  neg(): Sym {
    return ops().neg(this);
  }
  abs(): Sym {
    return ops().abs(this);
  }
  exp(): Sym {
    return ops().exp(this);
  }
  log(): Sym {
    return ops().log(this);
  }
  sqrt(): Sym {
    return ops().sqrt(this);
  }
  rsqrt(): Sym {
    return ops().rsqrt(this);
  }
  square(): Sym {
    return ops().square(this);
  }
  tanh(): Sym {
    return ops().tanh(this);
  }
  sigmoid(): Sym {
    return ops().sigmoid(this);
  }
  relu(): Sym {
    return ops().relu(this);
  }
  gelu(): Sym {
    return ops().gelu(this);
  }
  silu(): Sym {
    return ops().silu(this);
  }
  matmul(o: Sym): Sym {
    return ops().matmul(this, o);
  }
  sum(axes?: number | number[], keepdims = false): Sym {
    return ops().sum(this, axes, keepdims);
  }
  mean(axes?: number | number[], keepdims = false): Sym {
    return ops().mean(this, axes, keepdims);
  }
  max(axes?: number | number[], keepdims = false): Sym {
    return ops().max(this, axes, keepdims);
  }
  softmax(axis = -1): Sym {
    return ops().softmax(this, axis);
  }
  logSoftmax(axis = -1): Sym {
    return ops().logSoftmax(this, axis);
  }
  reshape(shape: readonly number[]): Sym {
    return ops().reshape(this, shape);
  }
  transpose(perm?: readonly number[]): Sym {
    return ops().transpose(this, perm);
  }
  /** Swaps the last two axes. */
  get T(): Sym {
    const p = this.shape.map((_, i) => i);
    [p[p.length - 1], p[p.length - 2]] = [p[p.length - 2]!, p[p.length - 1]!];
    return ops().transpose(this, p);
  }
  cast(dtype: DType): Sym {
    return ops().cast(this, dtype);
  }
  clip(min?: number, max?: number): Sym {
    return ops().clip(this, min, max);
  }
}
