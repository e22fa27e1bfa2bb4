/**
 * Instance and group normalisation, composed of traced standard ops (mean, sub, mul, rsqrt), so
 * their gradients follow from existing VJP rules and float64 needs no lowering.
 */
import type { Sym } from './Sym.ts';
import * as o from './ops.ts';
import { TraceError } from './TraceError.ts';

function normalize(x: Sym, axes: number[], eps: number): Sym {
  const d = o.sub(x, o.mean(x, axes, true));
  return o.mul(d, o.rsqrt(o.add(o.mean(o.square(d), axes, true), eps)));
}

/** Per-channel affine parameter [C] shaped to broadcast over NC… tensors. */
const perChannel = (p: Sym, x: Sym) => o.reshape(p, [1, x.shape[1]!, ...x.shape.slice(2).map(() => 1)]);

/** ONNX InstanceNormalization: normalise each (sample, channel) over the spatial axes, then scale [C] and bias [C]. */
export function instanceNorm(x: Sym, scale: Sym, bias: Sym, eps = 1e-5): Sym {
  if (x.rank < 3) throw new TraceError('instanceNorm', `expects an N, C, … tensor of rank ≥ 3, got ${x}`);
  for (const p of [scale, bias]) if (p.rank !== 1 || p.shape[0] !== x.shape[1]) throw new TraceError('instanceNorm', `${p} must be [${x.shape[1]}] for ${x}`);
  const y = normalize(x, x.shape.slice(2).map((_, i) => i + 2), eps);
  return o.add(o.mul(y, perChannel(scale, x)), perChannel(bias, x));
}

/** torch.nn.GroupNorm: normalise each group of C/groups channels (with their spatial axes), then per-channel affine. */
export function groupNorm(x: Sym, groups: number, gamma: Sym, beta: Sym, eps = 1e-5): Sym {
  const c = x.shape[1]!;
  if (x.rank < 2 || !Number.isInteger(groups) || groups <= 0 || c % groups !== 0) throw new TraceError('groupNorm', `${groups} groups do not divide the channels of ${x}`);
  const grouped = o.reshape(x, [x.shape[0]!, groups, -1]);
  const y = o.reshape(normalize(grouped, [2], eps), x.shape);
  return o.add(o.mul(y, perChannel(gamma, x)), perChannel(beta, x));
}
