import type { DType } from '../onnx/OnnxModel.ts';
import type { Graph, OpRecord } from './Graph.ts';
import * as ops from './ops.ts';

type Operand = Sym | number;

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
    readonly graph: Graph,
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
    return ops.add(this, o);
  }
  sub(o: Operand): Sym {
    return ops.sub(this, o);
  }
  mul(o: Operand): Sym {
    return ops.mul(this, o);
  }
  div(o: Operand): Sym {
    return ops.div(this, o);
  }
  pow(o: Operand): Sym {
    return ops.pow(this, o);
  }
  neg(): Sym {
    return ops.neg(this);
  }
  abs(): Sym {
    return ops.abs(this);
  }
  exp(): Sym {
    return ops.exp(this);
  }
  log(): Sym {
    return ops.log(this);
  }
  sqrt(): Sym {
    return ops.sqrt(this);
  }
  rsqrt(): Sym {
    return ops.rsqrt(this);
  }
  square(): Sym {
    return ops.square(this);
  }
  tanh(): Sym {
    return ops.tanh(this);
  }
  sigmoid(): Sym {
    return ops.sigmoid(this);
  }
  relu(): Sym {
    return ops.relu(this);
  }
  gelu(): Sym {
    return ops.gelu(this);
  }
  silu(): Sym {
    return ops.silu(this);
  }
  matmul(o: Sym): Sym {
    return ops.matmul(this, o);
  }
  sum(axes?: number | number[], keepdims = false): Sym {
    return ops.sum(this, axes, keepdims);
  }
  mean(axes?: number | number[], keepdims = false): Sym {
    return ops.mean(this, axes, keepdims);
  }
  max(axes?: number | number[], keepdims = false): Sym {
    return ops.max(this, axes, keepdims);
  }
  softmax(axis = -1): Sym {
    return ops.softmax(this, axis);
  }
  logSoftmax(axis = -1): Sym {
    return ops.logSoftmax(this, axis);
  }
  reshape(shape: readonly number[]): Sym {
    return ops.reshape(this, shape);
  }
  transpose(perm?: readonly number[]): Sym {
    return ops.transpose(this, perm);
  }
  /** Swaps the last two axes. */
  get T(): Sym {
    const p = this.shape.map((_, i) => i);
    [p[p.length - 1], p[p.length - 2]] = [p[p.length - 2]!, p[p.length - 1]!];
    return ops.transpose(this, p);
  }
  cast(dtype: DType): Sym {
    return ops.cast(this, dtype);
  }
  clip(min?: number, max?: number): Sym {
    return ops.clip(this, min, max);
  }
}
