/**
 * Vector–Jacobian product rules, one per traced op, written with the same traced ops so the
 * backward pass is standard ONNX (the npm onnxruntime has no *Grad ops). Each rule gets the op
 * record, the gradients of its outputs (null = zero) and returns gradients for its inputs.
 */
import type { DifferentiableOpKind } from '../trace/opKinds.ts';
import type { OpRecord, Sym } from '../trace/Sym.ts';
import * as o from '../trace/ops.ts';

export interface VjpContext {
  /** Which inputs need a gradient (rules may skip work for the others). */
  needs: boolean[];
  /** Accumulated gradient of a tensor already processed (i.e. produced later in the tape). */
  gradOf(s: Sym): Sym | null;
  /** Taped ops of the forward pass that read `s`. */
  consumers(s: Sym): OpRecord[];
}

export type VjpRule = (rec: OpRecord, dys: (Sym | null)[], ctx: VjpContext) => (Sym | null)[];

/** Sums a broadcast gradient back down to `shape`. */
export function unbroadcast(dy: Sym, shape: readonly number[]): Sym {
  if (dy.rank === shape.length && dy.shape.every((d, i) => d === shape[i])) return dy;
  const lead = dy.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < dy.rank; i++) if (i < lead || (shape[i - lead] === 1 && dy.shape[i] !== 1)) axes.push(i);
  const s = axes.length ? o.sum(dy, axes, true) : dy;
  return o.reshape(s, shape);
}

const zerosLike = (x: Sym) => o.zeros(x.graph, x.shape, x.dtype);
const inv = (perm: number[]) => perm.map((_, i) => perm.indexOf(i));
const swapLast = (x: Sym) => x.T;

/** Gradient of a reduction: put the reduced axes back as size-1 and broadcast. */
function unreduce(dy: Sym, x: Sym, axes: number[], keepdims: boolean): Sym {
  const kept = keepdims ? dy : o.reshape(dy, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
  return o.expand(kept, x.shape);
}

/**
 * dW for a convolution-like sum G[a,b,i,j] = Σ D[n,a,y,x]·I[n,b,y·s+i−p, x·s+j−p]: a dilated
 * Conv in float32, a strided-slice loop in float64 (no double Conv on the CPU provider).
 */
function convWeightGrad(d: Sym, input: Sym, kh: number, kw: number, s: number, p: number): Sym {
  const g = d.graph;
  const [, a, ho, wo] = d.shape as number[];
  const [, b] = input.shape as number[];
  return g.internal(() => {
    if (d.dtype !== 'float64') {
      const it = o.transpose(input, [1, 0, 2, 3]);
      const dt = o.transpose(d, [1, 0, 2, 3]);
      const hh = input.shape[2]! + 2 * p - ((ho! - 1) * s + 1) + 1;
      const ww = input.shape[3]! + 2 * p - ((wo! - 1) * s + 1) + 1;
      const [r] = g.node('Conv', [it, dt], { dilations: [s, s], pads: [p, p, p, p], strides: [1, 1] }, [{ shape: [b!, a!, hh, ww], dtype: d.dtype }]);
      const cropped = hh === kh && ww === kw ? r! : o.slice(r!, [0, 0], [kh, kw], [2, 3]);
      return o.transpose(cropped, [1, 0, 2, 3]);
    }
    const ip = p > 0 ? o.pad(input, [0, 0, p, p, 0, 0, p, p]) : input;
    const dm = o.reshape(o.transpose(d, [1, 0, 2, 3]), [a!, -1]);
    const parts: Sym[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const patch = o.slice(ip, [i, j], [i + (ho! - 1) * s + 1, j + (wo! - 1) * s + 1], [2, 3], [s, s]);
        const pm = o.reshape(o.transpose(patch, [1, 0, 2, 3]), [b!, -1]);
        parts.push(o.reshape(o.matmul(dm, o.transpose(pm, [1, 0])), [a!, b!, 1]));
      }
    }
    return o.reshape(o.concat(parts, 2), [a!, b!, kh, kw]);
  });
}

/**
 * dX of conv2d: the full transposed convolution (no padding) lives in padded-input coordinates
 * [0, (ho − 1)·s + k); the input is [p, p + H) of it. When (H + 2p − k) is not divisible by the
 * stride the forward never read the last rows/cols of the padded input, so the full output is
 * shorter than H + 2p and those rows get zeros. (Running the transposed conv with the forward's
 * padding instead would crop at the far end too and lose real rows: issue 13.)
 */
function convInputGrad(dy: Sym, w: Sym, xShape: readonly number[], s: number, p: number): Sym {
  const full = o.convTranspose2d(dy, w, undefined, { stride: s });
  const [h, wd] = [xShape[2]!, xShape[3]!];
  const [fh, fw] = [full.shape[2]!, full.shape[3]!];
  const endH = Math.min(fh, p + h);
  const endW = Math.min(fw, p + wd);
  const kept = p > 0 || endH < fh || endW < fw ? o.slice(full, [p, p], [endH, endW], [2, 3]) : full;
  const missH = p + h - endH;
  const missW = p + wd - endW;
  return missH > 0 || missW > 0 ? o.pad(kept, [0, 0, 0, 0, 0, 0, missH, missW]) : kept;
}

/** One rule per differentiable op kind: a kind added to `DIFFERENTIABLE_OPS` without a rule here fails tsc. */
export type VjpTable = { readonly [K in DifferentiableOpKind]: VjpRule };

export const VJPS: VjpTable = {
  add: ({ inputs: [a, b] }, [dy]) => [unbroadcast(dy!, a!.shape), unbroadcast(dy!, b!.shape)],
  sub: ({ inputs: [a, b] }, [dy], c) => [unbroadcast(dy!, a!.shape), c.needs[1] ? unbroadcast(o.neg(dy!), b!.shape) : null],
  mul: ({ inputs: [a, b] }, [dy], c) => [
    c.needs[0] ? unbroadcast(o.mul(dy!, b!), a!.shape) : null,
    c.needs[1] ? unbroadcast(o.mul(dy!, a!), b!.shape) : null,
  ],
  div: ({ inputs: [a, b], outputs: [y] }, [dy], c) => [
    c.needs[0] ? unbroadcast(o.div(dy!, b!), a!.shape) : null,
    c.needs[1] ? unbroadcast(o.neg(o.mul(dy!, o.div(y!, b!))), b!.shape) : null,
  ],
  pow: ({ inputs: [a, b], outputs: [y] }, [dy], c) => [
    c.needs[0] ? unbroadcast(o.mul(o.mul(dy!, b!), o.pow(a!, o.sub(b!, 1))), a!.shape) : null,
    c.needs[1] ? unbroadcast(o.mul(o.mul(dy!, y!), o.log(a!)), b!.shape) : null,
  ],
  maximum: ({ inputs: [a, b] }, [dy]) => {
    const m = o.greaterOrEqual(a!, b!);
    return [unbroadcast(o.where(m, dy!, 0), a!.shape), unbroadcast(o.where(m, 0, dy!), b!.shape)];
  },
  minimum: ({ inputs: [a, b] }, [dy]) => {
    const m = o.lessOrEqual(a!, b!);
    return [unbroadcast(o.where(m, dy!, 0), a!.shape), unbroadcast(o.where(m, 0, dy!), b!.shape)];
  },
  square: ({ inputs: [x] }, [dy]) => [o.mul(o.mul(dy!, x!), 2)],
  neg: (_, [dy]) => [o.neg(dy!)],
  abs: ({ inputs: [x] }, [dy]) => [o.mul(dy!, o.sign(x!))],
  exp: ({ outputs: [y] }, [dy]) => [o.mul(dy!, y!)],
  log: ({ inputs: [x] }, [dy]) => [o.div(dy!, x!)],
  sqrt: ({ outputs: [y] }, [dy]) => [o.div(o.mul(dy!, 0.5), y!)],
  reciprocal: ({ outputs: [y] }, [dy]) => [o.neg(o.mul(dy!, o.mul(y!, y!)))],
  tanh: ({ outputs: [y] }, [dy]) => [o.mul(dy!, o.sub(1, o.mul(y!, y!)))],
  sigmoid: ({ outputs: [y] }, [dy]) => [o.mul(dy!, o.mul(y!, o.sub(1, y!)))],
  relu: ({ inputs: [x] }, [dy]) => [o.where(o.greater(x!, 0), dy!, 0)],
  erf: ({ inputs: [x] }, [dy]) => [o.mul(dy!, o.mul(o.exp(o.neg(o.mul(x!, x!))), 2 / Math.sqrt(Math.PI)))],
  gelu: ({ inputs: [x] }, [dy]) => {
    // d/dx x·Φ(x) = Φ(x) + x·φ(x)
    const cdf = o.mul(o.add(o.erf(o.mul(x!, Math.SQRT1_2)), 1), 0.5);
    const pdf = o.mul(o.exp(o.mul(o.mul(x!, x!), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return [o.mul(dy!, o.add(cdf, o.mul(x!, pdf)))];
  },
  sin: ({ inputs: [x] }, [dy]) => [o.mul(dy!, o.cos(x!))],
  cos: ({ inputs: [x] }, [dy]) => [o.neg(o.mul(dy!, o.sin(x!)))],
  clip: ({ inputs: [x], attrs }, [dy]) => {
    let m: Sym | null = null;
    if (attrs.min !== undefined) m = o.greaterOrEqual(x!, attrs.min as number);
    if (attrs.max !== undefined) m = m ? o.and(m, o.lessOrEqual(x!, attrs.max as number)) : o.lessOrEqual(x!, attrs.max as number);
    return [m ? o.where(m, dy!, 0) : dy];
  },
  cast: ({ attrs }, [dy]) => {
    const floats = ['float32', 'float64', 'float16'];
    if (!floats.includes(attrs.from as string) || !floats.includes(attrs.to as string)) return [null];
    return [o.cast(dy!, attrs.from as 'float32')];
  },
  where: ({ inputs: [a, b], attrs }, [dy]) => {
    const cond = attrs.cond as Sym;
    return [unbroadcast(o.where(cond, dy!, 0), a!.shape), unbroadcast(o.where(cond, 0, dy!), b!.shape)];
  },
  matmul: ({ inputs: [a, b] }, [dy], c) => [
    c.needs[0] ? unbroadcast(o.matmul(dy!, swapLast(b!)), a!.shape) : null,
    c.needs[1] ? unbroadcast(o.matmul(swapLast(a!), dy!), b!.shape) : null,
  ],
  gemm: ({ inputs: [a, b, cc], attrs }, [dy], c) => {
    const alpha = attrs.alpha as number;
    const tA = attrs.transA as boolean;
    const tB = attrs.transB as boolean;
    const da = !c.needs[0] ? null : tA ? o.gemm(b!, dy!, undefined, { alpha, transA: tB, transB: true }) : o.gemm(dy!, b!, undefined, { alpha, transB: !tB });
    const db = !c.needs[1] ? null : tB ? o.gemm(dy!, a!, undefined, { alpha, transA: true, transB: tA }) : o.gemm(a!, dy!, undefined, { alpha, transA: !tA });
    const beta = attrs.beta as number;
    const dc = cc && c.needs[2] ? unbroadcast(beta === 1 ? dy! : o.mul(dy!, beta), cc.shape) : null;
    return cc ? [da, db, dc] : [da, db];
  },
  sum: ({ inputs: [x], attrs }, [dy]) => [unreduce(dy!, x!, attrs.axes as number[], attrs.keepdims as boolean)],
  mean: ({ inputs: [x], attrs }, [dy]) => {
    const axes = attrs.axes as number[];
    const count = axes.reduce((p, a) => p * x!.shape[a]!, 1);
    return [unreduce(o.div(dy!, count), x!, axes, attrs.keepdims as boolean)];
  },
  max: ({ inputs: [x], outputs: [y], attrs }, [dy]) => {
    const axes = attrs.axes as number[];
    const keep = attrs.keepdims as boolean;
    const ky = keep ? y! : o.reshape(y!, x!.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
    const mask = o.cast(o.equal(x!, ky), x!.dtype);
    const count = o.sum(mask, axes, true);
    const kdy = keep ? dy! : o.reshape(dy!, ky.shape);
    return [o.mul(mask, o.div(kdy, count))];
  },
  softmax: ({ outputs: [y], attrs }, [dy], c) => {
    const axis = attrs.axis as number;
    // Attention pattern P·V: Σ_j dP·P = Σ_d dO·O, a row sum over the small [.., T, d] tensor
    // instead of an extra pass over the [.., T, T] score tensor (measured 2–10 % per step).
    const users = c.consumers(y!);
    if (axis === y!.rank - 1 && users.length === 1 && users[0]!.op === 'matmul' && users[0]!.inputs[0] === y && users[0]!.inputs[1] !== y) {
      const out = users[0]!.outputs[0]!;
      const gOut = c.gradOf(out);
      if (gOut && out.rank === y!.rank && out.shape.slice(0, -1).every((d, i) => d === y!.shape[i])) {
        const r = o.sum(o.mul(gOut, out), [axis], true);
        return [o.mul(y!, o.sub(dy!, r))];
      }
    }
    return [o.mul(y!, o.sub(dy!, o.sum(o.mul(dy!, y!), [axis], true)))];
  },
  logSoftmax: ({ outputs: [y], attrs }, [dy]) => [o.sub(dy!, o.mul(o.exp(y!), o.sum(dy!, [attrs.axis as number], true)))],
  reshape: ({ inputs: [x] }, [dy]) => [o.reshape(dy!, x!.shape)],
  transpose: ({ attrs }, [dy]) => [o.transpose(dy!, inv(attrs.perm as number[]))],
  concat: ({ inputs, attrs }, [dy]) => o.split(dy!, inputs.map((x) => x.shape[attrs.axis as number]!), attrs.axis as number),
  split: ({ inputs: [x], outputs }, dys, _c) => [
    o.concat(
      dys.map((d, i) => d ?? zerosLike(outputs[i]!)),
      outputs[0]!.shape.findIndex((d, i) => d !== x!.shape[i]) === -1 ? 0 : outputs[0]!.shape.findIndex((d, i) => d !== x!.shape[i]),
    ),
  ],
  slice: ({ inputs: [x], attrs }, [dy]) => {
    // Scatter back: for a strided axis, interleave s−1 zeros after each element (reshape + pad),
    // then pad every sliced axis out to the input's extent.
    let gr = dy!;
    const axes = attrs.axes as number[];
    axes.forEach((a, i) => {
      const step = (attrs.steps as number[])[i]!;
      const start = (attrs.starts as number[])[i]!;
      const n = gr.shape[a]!;
      if (n === 0) return;
      if (step > 1) {
        const sh = [...gr.shape];
        gr = o.reshape(gr, [...sh.slice(0, a + 1), 1, ...sh.slice(a + 1)]);
        const pads = new Array(2 * gr.rank).fill(0);
        pads[gr.rank + a + 1] = step - 1;
        gr = o.pad(gr, pads);
        gr = o.reshape(gr, [...sh.slice(0, a), n * step, ...sh.slice(a + 1)]);
        gr = o.slice(gr, [0], [(n - 1) * step + 1], [a]);
      }
      const pads = new Array(2 * gr.rank).fill(0);
      pads[a] = start;
      pads[gr.rank + a] = x!.shape[a]! - start - gr.shape[a]!;
      gr = o.pad(gr, pads);
    });
    return [axes.some((a) => dy!.shape[a] === 0) ? zerosLike(x!) : gr];
  },
  gather: ({ inputs: [x], attrs }, [dy]) => {
    const axis = attrs.axis as number;
    const idx = attrs.indices as Sym;
    const g = x!.graph;
    const n = idx.size;
    const pre = x!.shape.slice(0, axis).reduce((p, q) => p * q, 1);
    const post = x!.shape.slice(axis + 1).reduce((p, q) => p * q, 1);
    const dx = g.internal(() => {
      const upd = o.transpose(o.reshape(dy!, [pre, n, post]), [1, 0, 2]);
      const [s] = g.node('ScatterND', [zerosLike(o.reshape(x!, [x!.shape[axis]!, pre, post]) as Sym).name, o.reshape(idx, [n, 1]), upd], { reduction: 'add' }, [
        { shape: [x!.shape[axis]!, pre, post], dtype: x!.dtype },
      ]);
      return o.reshape(o.transpose(s!, [1, 0, 2]), x!.shape);
    });
    return [dx];
  },
  expand: ({ inputs: [x] }, [dy]) => [unbroadcast(dy!, x!.shape)],
  pad: ({ inputs: [x], attrs }, [dy]) => {
    const pads = attrs.pads as number[];
    const r = x!.rank;
    return [o.slice(dy!, pads.slice(0, r), x!.shape.map((d, i) => pads[i]! + d), x!.shape.map((_, i) => i))];
  },
  layerNorm: ({ inputs: [x, gamma, beta], outputs: [, mu, invStd], attrs }, [dy], c) => {
    const axes = attrs.axes as number[];
    const lead = x!.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const xhat = o.mul(o.sub(x!, o.cast(mu!, x!.dtype)), o.cast(invStd!, x!.dtype));
    const dxhat = o.mul(dy!, gamma!);
    const dx = c.needs[0]
      ? o.mul(o.cast(invStd!, x!.dtype), o.sub(o.sub(dxhat, o.mean(dxhat, axes, true)), o.mul(xhat, o.mean(o.mul(dxhat, xhat), axes, true))))
      : null;
    const dgamma = c.needs[1] ? o.sum(o.mul(dy!, xhat), lead) : null;
    const dbeta = beta && c.needs[2] ? o.sum(dy!, lead) : null;
    return beta ? [dx, dgamma, dbeta] : [dx, dgamma];
  },
  conv2d: ({ inputs: [x, w, b], attrs }, [dy], c) => {
    const s = attrs.stride as number;
    const p = attrs.pad as number;
    let dx: Sym | null = null;
    if (c.needs[0]) dx = convInputGrad(dy!, w!, x!.shape, s, p);
    const dw = c.needs[1] ? convWeightGrad(dy!, x!, w!.shape[2]!, w!.shape[3]!, s, p) : null;
    const db = b && c.needs[2] ? o.sum(dy!, [0, 2, 3]) : null;
    return b ? [dx, dw, db] : [dx, dw];
  },
  convTranspose2d: ({ inputs: [x, w, b], attrs }, [dy], c) => {
    const s = attrs.stride as number;
    const p = attrs.pad as number;
    const dx = c.needs[0] ? o.conv2d(dy!, w!, undefined, { stride: s, pad: p }) : null;
    const dw = c.needs[1] ? convWeightGrad(x!, dy!, w!.shape[2]!, w!.shape[3]!, s, p) : null;
    const db = b && c.needs[2] ? o.sum(dy!, [0, 2, 3]) : null;
    return b ? [dx, dw, db] : [dx, dw];
  },
};
