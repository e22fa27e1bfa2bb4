/** Finite-difference gradient checking in float64 against real onnxruntime sessions (test helper, not a test file). */
import { Graph, KernelSession, Tensor, grad, type Sym } from '../../kernels/index.ts';
import { SeededRandom } from '../../kernels/trace/init.ts';

export interface FdInput {
  shape: number[];
  /** Values; random normal when omitted. */
  values?: number[];
  /** Maps each random draw (e.g. to keep log's argument positive). */
  map?: (v: number) => number;
}

export interface FdResult {
  maxAbs: number;
  maxRel: number;
  checked: number;
}

/**
 * Builds `fn` in float64 with each differentiable input as a parameter, reduces its output to a
 * scalar with fixed random weights, and compares autodiff with central differences (h = 1e-6).
 */
export async function fdCheck(
  fn: (g: Graph, xs: Record<string, Sym>) => Sym,
  inputs: Record<string, FdInput>,
  options: { seed?: number; h?: number } = {},
): Promise<FdResult> {
  const rng = new SeededRandom(options.seed ?? 7);
  const g = new Graph({ dtype: 'float64' });
  const xs: Record<string, Sym> = {};
  const values: Record<string, Float64Array> = {};
  for (const [name, spec] of Object.entries(inputs)) {
    xs[name] = g.param(name, spec.shape);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    values[name] = Float64Array.from(spec.values ?? Array.from({ length: n }, () => (spec.map ?? ((v) => v))(rng.normal())));
  }
  const y = fn(g, xs);
  const wdata = Float64Array.from({ length: y.size }, () => rng.normal());
  const loss = y.size === 1 && y.rank === 0 ? y : y.mul(g.constant(new Tensor('float64', y.shape, wdata))).sum();
  const names = Object.keys(inputs);
  const grads = grad(loss, names.map((n) => xs[n]!));
  const outs: Record<string, Sym> = { loss };
  names.forEach((n, i) => (outs[`d_${n}`] = grads[i]!));
  const session = await KernelSession.create(g.toModel(outs));
  const feeds = () => Object.fromEntries(names.map((n) => [n, new Tensor('float64', inputs[n]!.shape, values[n]!.slice())]));
  const analytic = await session.run(feeds());
  const h = options.h ?? 1e-6;
  let maxAbs = 0;
  let maxRel = 0;
  let checked = 0;
  for (const n of names) {
    const v = values[n]!;
    const d = analytic[`d_${n}`]!.data as Float64Array;
    for (let i = 0; i < v.length; i++) {
      const orig = v[i]!;
      v[i] = orig + h;
      const lp = (await session.run(feeds(), ['loss'])).loss!.item();
      v[i] = orig - h;
      const lm = (await session.run(feeds(), ['loss'])).loss!.item();
      v[i] = orig;
      const num = (lp - lm) / (2 * h);
      const abs = Math.abs(num - d[i]!);
      maxAbs = Math.max(maxAbs, abs);
      maxRel = Math.max(maxRel, abs / Math.max(1, Math.abs(num)));
      checked++;
    }
  }
  await session.release();
  return { maxAbs, maxRel, checked };
}
