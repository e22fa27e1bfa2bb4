import * as o from '../trace/ops.ts';
import type { Sym } from '../trace/Sym.ts';

/** A learning rate: fixed, or a schedule of the number of completed steps (fed each step as an input). */
export type LrSpec = number | ((step: number) => number);

export interface AdamWSpec {
  kind: 'adamw';
  lr: LrSpec;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay (PyTorch AdamW semantics: p ← p·(1 − lr·wd) before the Adam step). */
  weightDecay: number;
}

export interface SgdSpec {
  kind: 'sgd';
  lr: LrSpec;
  momentum: number;
  nesterov: boolean;
  /** Coupled L2 term added to the gradient (PyTorch SGD semantics). */
  weightDecay: number;
}

export type OptimizerSpec = AdamWSpec | SgdSpec;

/**
 * AdamW with bias correction; defaults follow PyTorch (β 0.9/0.999, ε 1e-8, wd 0.01).
 *
 * @example
 * const opt = adamw({ lr: 8e-5, weightDecay: 1e-2 });
 */
export function adamw(o: Partial<Omit<AdamWSpec, 'kind'>> = {}): AdamWSpec {
  return { kind: 'adamw', lr: o.lr ?? 1e-3, beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.999, eps: o.eps ?? 1e-8, weightDecay: o.weightDecay ?? 0.01 };
}

/**
 * SGD with optional (Nesterov) momentum.
 *
 * @example
 * const opt = sgd({ lr: 0.1, momentum: 0.9 });
 */
export function sgd(o: Partial<Omit<SgdSpec, 'kind'>> = {}): SgdSpec {
  return { kind: 'sgd', lr: o.lr ?? 1e-2, momentum: o.momentum ?? 0, nesterov: o.nesterov ?? false, weightDecay: o.weightDecay ?? 0 };
}

/** Names of the per-parameter state buffers an optimizer carries between steps. */
export function optimizerState(spec: OptimizerSpec): string[] {
  if (spec.kind === 'adamw') return ['m', 'v'];
  return spec.momentum > 0 ? ['buf'] : [];
}

export interface UpdateInputs {
  /** Flat trainable parameters. */
  p: Sym;
  /** Flat gradient (already clipped). */
  g: Sym;
  state: Record<string, Sym>;
  /** Scalar learning rate input. */
  lr: Sym;
  /** Scalar step number after this update (1 on the first step), float. */
  t: Sym;
  /** Per-element 1/0 mask of parameters that get weight decay; null = all. */
  decayMask: Sym | null;
}

/**
 * Emits one optimizer update over the flat parameter buffer: a single chain of elementwise ops
 * for all parameters (per-parameter chains cost more kernel launches than they save).
 */
export function emitUpdate(spec: OptimizerSpec, u: UpdateInputs): { p: Sym; state: Record<string, Sym> } {
  const { p, g, lr, t } = u;
  const wd = spec.weightDecay;
  if (spec.kind === 'adamw') {
    const { beta1: b1, beta2: b2, eps } = spec;
    const m = o.add(o.mul(u.state.m!, b1), o.mul(g, 1 - b1));
    const v = o.add(o.mul(u.state.v!, b2), o.mul(o.mul(g, g), 1 - b2));
    const bc1 = o.sub(1, o.pow(b1, t));
    const bc2 = o.sub(1, o.pow(b2, t));
    const stepSize = o.div(lr, bc1);
    const denom = o.add(o.mul(o.sqrt(v), o.rsqrt(bc2)), eps);
    let base = p;
    if (wd > 0) {
      const shrink = u.decayMask ? o.sub(1, o.mul(u.decayMask, o.mul(lr, wd))) : o.sub(1, o.mul(lr, wd));
      base = o.mul(p, shrink);
    }
    return { p: o.sub(base, o.mul(o.div(m, denom), stepSize)), state: { m, v } };
  }
  let grad = g;
  if (wd > 0) grad = o.add(grad, o.mul(u.decayMask ? o.mul(p, u.decayMask) : p, wd));
  if (spec.momentum > 0) {
    // buf starts at zero, so μ·0 + g reproduces PyTorch's "buf = g on the first step".
    const buf = o.add(o.mul(u.state.buf!, spec.momentum), grad);
    const dir = spec.nesterov ? o.add(grad, o.mul(buf, spec.momentum)) : buf;
    return { p: o.sub(p, o.mul(dir, lr)), state: { buf } };
  }
  return { p: o.sub(p, o.mul(grad, lr)), state: {} };
}
