import type { Tensor } from '../runtime/Tensor.ts';

/** How a parameter gets its first value (drawn from the trainer's seeded generator). */
export type Init =
  | { kind: 'normal'; std: number; mean?: number }
  | { kind: 'uniform'; limit: number }
  | { kind: 'constant'; value: number }
  | { kind: 'xavier' }
  | { kind: 'values'; tensor: Tensor };

/**
 * Parameter initialisers.
 *
 * @example
 * g.param('W', [128, 512], { init: init.xavier() });
 * g.param('b', [512], { init: init.zeros(), decay: false });
 */
export const init = {
  normal: (std = 0.02, mean = 0): Init => ({ kind: 'normal', std, mean }),
  uniform: (limit: number): Init => ({ kind: 'uniform', limit }),
  zeros: (): Init => ({ kind: 'constant', value: 0 }),
  ones: (): Init => ({ kind: 'constant', value: 1 }),
  constant: (value: number): Init => ({ kind: 'constant', value }),
  /** Glorot uniform from the last two dims (fan-in, fan-out). */
  xavier: (): Init => ({ kind: 'xavier' }),
  values: (tensor: Tensor): Init => ({ kind: 'values', tensor }),
};

/** SplitMix64-style generator on 32-bit halves: small, fast, reproducible across platforms. */
export class SeededRandom {
  private state: bigint;
  constructor(seed: number | bigint) {
    this.state = BigInt.asUintN(64, BigInt(seed) * 0x9e3779b97f4a7c15n + 0x632be59bd9b4e019n);
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = BigInt.asUintN(64, this.state + 0x9e3779b97f4a7c15n);
    let z = this.state;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    z ^= z >> 31n;
    return Number(z >> 11n) / 2 ** 53;
  }
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

/** Fills an array of `n` values for a parameter of `shape` according to `spec`. */
export function initValues(spec: Init, shape: readonly number[], rng: SeededRandom): Float64Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  switch (spec.kind) {
    case 'normal':
      for (let i = 0; i < n; i++) out[i] = (spec.mean ?? 0) + spec.std * rng.normal();
      break;
    case 'uniform':
      for (let i = 0; i < n; i++) out[i] = (2 * rng.next() - 1) * spec.limit;
      break;
    case 'constant':
      out.fill(spec.value);
      break;
    case 'xavier': {
      const fanIn = shape.length >= 2 ? shape[shape.length - 2]! : shape[0] ?? 1;
      const fanOut = shape.length >= 2 ? shape[shape.length - 1]! : shape[0] ?? 1;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) out[i] = (2 * rng.next() - 1) * limit;
      break;
    }
    case 'values': {
      if (spec.tensor.size !== n) throw new Error(`init.values: tensor has ${spec.tensor.size} elements, parameter needs ${n}`);
      spec.tensor.toArray().forEach((v, i) => (out[i] = v));
      break;
    }
  }
  return out;
}
