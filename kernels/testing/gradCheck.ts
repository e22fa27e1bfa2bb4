import { Graph } from '../trace/Graph.ts';
import type { Sym } from '../trace/Sym.ts';
import { SeededRandom } from '../trace/init.ts';
import { grad } from '../autodiff/grad.ts';
import { Tensor } from '../runtime/Tensor.ts';
import { KernelSession } from '../runtime/KernelSession.ts';

/** One differentiable input of a {@link gradCheck}. */
export interface GradCheckInput {
  readonly shape: readonly number[];
  /** Values (row-major); seeded standard-normal draws when omitted. */
  readonly values?: readonly number[];
  /** Maps each random draw, e.g. `(v) => Math.abs(v) + 0.5` to keep a log's argument positive. */
  readonly map?: (v: number) => number;
}

export interface GradCheckOptions {
  /** Central-difference step (default 1e-6; float64 makes such a small step exact enough). */
  readonly eps?: number;
  /** Largest accepted error |numeric − analytic| / max(1, |numeric|) (default 1e-6). */
  readonly tol?: number;
  /** Seed of the random inputs and of the output weights (default 7). */
  readonly seed?: number;
}

/** The worst element found, for a failure message that says where to look. */
export interface GradCheckWorst {
  readonly input: string;
  readonly index: number;
  readonly analytic: number;
  readonly numeric: number;
}

export interface GradCheckResult {
  /** Whether `maxRel <= tol`. */
  readonly ok: boolean;
  readonly maxAbs: number;
  readonly maxRel: number;
  /** Elements compared (every element of every input). */
  readonly checked: number;
  readonly worst: GradCheckWorst | undefined;
  /** One line: ok or the worst element with both gradients. */
  readonly summary: string;
}

/**
 * Compares reverse-mode autodiff with central finite differences, in float64 on real
 * onnxruntime sessions. `fn` is traced with every input as a parameter; a non-scalar output is
 * reduced to a scalar with fixed random weights (so every output element's gradient counts).
 * Costs 2 session runs per input element: keep the inputs small.
 *
 * @example
 * import { gradCheck } from 'tessera/kernels';
 * const r = await gradCheck((g, x) => x.a!.mul(x.b!).tanh(), { a: { shape: [2, 3] }, b: { shape: [3] } });
 * assert.ok(r.ok, r.summary);
 */
export async function gradCheck(
  fn: (g: Graph, inputs: Readonly<Record<string, Sym>>) => Sym,
  inputs: Readonly<Record<string, GradCheckInput>>,
  options: GradCheckOptions = {},
): Promise<GradCheckResult> {
  const rng = new SeededRandom(options.seed ?? 7);
  const eps = options.eps ?? 1e-6;
  const tol = options.tol ?? 1e-6;
  if (!(eps > 0)) throw new RangeError(`gradCheck: eps must be positive, got ${eps}`);
  const names = Object.keys(inputs);
  if (!names.length) throw new RangeError('gradCheck: no inputs to differentiate');
  const g = new Graph({ dtype: 'float64' });
  // Input names are the caller's words: a Map and a null-prototype record, never a plain object.
  const syms: Record<string, Sym> = Object.create(null);
  const values = new Map<string, Float64Array>();
  for (const name of names) {
    const spec = inputs[name]!;
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const draw = spec.map ?? ((v: number) => v);
    const data = spec.values ? Float64Array.from(spec.values) : Float64Array.from({ length: n }, () => draw(rng.normal()));
    if (data.length !== n) throw new RangeError(`gradCheck: input "${name}" has ${data.length} values for shape [${spec.shape.join(', ')}] (${n} elements)`);
    syms[name] = g.param(name, [...spec.shape]);
    values.set(name, data);
  }
  const y = fn(g, syms);
  const weights = Float64Array.from({ length: y.size }, () => rng.normal());
  const loss = y.size === 1 && y.rank === 0 ? y : y.mul(g.constant(new Tensor('float64', y.shape, weights))).sum();
  const grads = grad(loss, names.map((n) => syms[n]!));
  const outs: Record<string, Sym> = Object.create(null);
  outs.loss = loss;
  names.forEach((n, i) => (outs[`d${i}`] = grads[i]!));
  const session = await KernelSession.create(g.toModel(outs));
  try {
    const feeds = () => Object.fromEntries(names.map((n) => [n, new Tensor('float64', [...inputs[n]!.shape], values.get(n)!.slice())]));
    const lossAt = async () => (await session.run(feeds(), ['loss'])).loss!.item();
    const analytic = await session.run(feeds());
    let maxAbs = 0;
    let maxRel = 0;
    let checked = 0;
    let worst: GradCheckWorst | undefined;
    for (const [k, name] of names.entries()) {
      const v = values.get(name)!;
      const d = analytic[`d${k}`]!.data as Float64Array;
      for (let i = 0; i < v.length; i++) {
        const orig = v[i]!;
        v[i] = orig + eps;
        const plus = await lossAt();
        v[i] = orig - eps;
        const minus = await lossAt();
        v[i] = orig;
        const numeric = (plus - minus) / (2 * eps);
        // A NaN on either side counts as an infinite error, never as a pass.
        const abs = Math.abs(numeric - d[i]!);
        const rel = Number.isNaN(abs) ? Infinity : abs / Math.max(1, Math.abs(numeric));
        maxAbs = Math.max(maxAbs, Number.isNaN(abs) ? Infinity : abs);
        if (worst === undefined || rel > maxRel) worst = { input: name, index: i, analytic: d[i]!, numeric };
        maxRel = Math.max(maxRel, rel);
        checked++;
      }
    }
    const ok = maxRel <= tol;
    const summary = ok
      ? `gradients match (${checked} elements, max rel error ${maxRel.toExponential(2)} ≤ ${tol})`
      : `gradient mismatch: max rel error ${maxRel.toExponential(2)} > ${tol} at ${worst!.input}[${worst!.index}] (autodiff ${worst!.analytic}, finite differences ${worst!.numeric})`;
    return { ok, maxAbs, maxRel, checked, worst, summary };
  } finally {
    await session.release();
  }
}
